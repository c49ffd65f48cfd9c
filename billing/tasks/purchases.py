"""Tasks for payment sessions and gateway notifications. Name tasks explicitly: @shared_task(name="billing.tasks.<fn>")."""
