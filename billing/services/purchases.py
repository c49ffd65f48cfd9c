"""Purchases, payment sessions and payments."""
