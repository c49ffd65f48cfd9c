from datetime import timedelta

import pytest
from django.utils import timezone

from credits.services import lot_grant


@pytest.fixture
def grant():
    """grant(org, credits, days=30, **kw) → a lot expiring ``days`` from now."""

    def _grant(organization, credits, days=30, **kwargs):
        now = timezone.now()
        kwargs.setdefault("source", "grant")
        kwargs.setdefault("reason", "test")
        return lot_grant(
            organization=organization, credits=credits, granted_at=now, expires_at=now + timedelta(days=days), **kwargs
        )

    return _grant
