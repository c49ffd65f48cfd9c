"""Helpers every Saldo app needs, with no models and no imports from the apps: money, months, CSV, admin bits."""
