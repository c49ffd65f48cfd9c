import pytest
from django.core.management import call_command

from credits.models import CreditLot, LedgerEntry, MessageUsage
from credits.selectors import ledger_audit, usage_per_day

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_credits_and_usage_and_is_idempotent():
    call_command("seed_demo")
    counts = (CreditLot.objects.count(), LedgerEntry.objects.count(), MessageUsage.objects.count())
    assert counts[0] >= 4 and counts[2] > 1000
    lot = CreditLot.objects.first()
    assert ledger_audit(lot.organization_id)["ok"]
    days = usage_per_day(lot.organization)
    assert sum(1 for d in days if d["total"]) >= 25  # the chart shows something real
    call_command("seed_demo")
    assert (CreditLot.objects.count(), LedgerEntry.objects.count(), MessageUsage.objects.count()) == counts
