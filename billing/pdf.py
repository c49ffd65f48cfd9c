"""Invoice PDFs with WeasyPrint (placeholder; the full template follows)."""
