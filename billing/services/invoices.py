"""Invoices: numbering, issuing, paying, voiding, PDFs."""
