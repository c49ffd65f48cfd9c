"""Tasks for invoice PDFs and e-mails. Name tasks explicitly: @shared_task(name="billing.tasks.<fn>")."""
