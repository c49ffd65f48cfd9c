import pytest
from django.core.management import call_command

from billing.models import Purchase

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_a_paid_and_a_pending_purchase_once():
    call_command("seed_demo")
    counts = {s: Purchase.objects.filter(status=s).count() for s in ("paid", "pending")}
    assert counts == {"paid": 1, "pending": 1}
    call_command("seed_demo")
    assert Purchase.objects.count() == 2
