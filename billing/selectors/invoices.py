"""Reads about invoices."""
