"""Reads about prices, purchases and payment sessions."""
