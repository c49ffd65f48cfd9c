"""Invoices, their lines and the per-month number counter."""

from django.db import models  # noqa: F401
