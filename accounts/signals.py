"""Signals other apps listen to. Sent inside the transaction of the change (receivers write outbox rows)."""

from django.dispatch import Signal

# kwargs: organization, suspended (bool), reason
api_access_changed = Signal()
