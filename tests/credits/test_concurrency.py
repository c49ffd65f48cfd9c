"""Real threads against PostgreSQL: the balance row lock is what keeps these exact."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone
from rest_framework.test import APIClient

from credits.models import CreditBalance, CreditLot, LedgerEntry, MessageUsage
from credits.selectors import balance_for, ledger_audit
from credits.services import InsufficientCredits, lot_grant, lots_expire, usage_charge

pytestmark = [pytest.mark.django_db(transaction=True)]


def run_threads(n, target):
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait()
            for attempt in range(50):
                try:
                    results[i] = target(i)
                    break
                except OperationalError as exc:
                    # PostgreSQL's default max_connections is 100: a thread that could not even connect did
                    # nothing, so it may try again. Any other error is surfaced by the assertions.
                    if "connection" not in str(exc) or attempt == 49:
                        raise
                    connection.close()
                    time.sleep(0.05)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_100_concurrent_charges_against_50_credits_charge_exactly_50(organization, api_key):
    lot_grant(organization=organization, credits=50, source="grant")

    def call(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        r = client.post("/api/v1/usage/messages", {"message_id": f"m-{i}", "direction": "outbound"}, format="json")
        return r.status_code, r.json()

    results = run_threads(100, call)
    codes = sorted(code for code, _body in results)
    assert codes.count(201) == 50 and codes.count(402) == 50
    assert all(body["balance"] == 0 for code, body in results if code == 402)
    assert sorted(body["balance"] for code, body in results if code == 201) == list(range(50))
    assert balance_for(organization) == 0
    assert CreditBalance.objects.get().balance == 0
    assert MessageUsage.objects.count() == 50
    assert ledger_audit(organization.pk)["ok"]
    call_command("audit_ledger")  # exits 0 when clean


def test_the_same_message_id_50_times_at_once_is_charged_once(organization, api_key):
    lot_grant(organization=organization, credits=100, source="grant")

    def call(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        r = client.post("/api/v1/usage/messages", {"message_id": "same", "direction": "inbound"}, format="json")
        return r.status_code, r.json()

    results = run_threads(50, call)
    codes = [code for code, _body in results]
    assert codes.count(201) == 1 and codes.count(200) == 49
    assert len({tuple(sorted(body.items())) for _code, body in results}) == 1
    assert balance_for(organization) == 99
    assert MessageUsage.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="usage").count() == 1


def test_expiry_running_while_charges_run_never_spends_an_expired_credit(organization):
    now = timezone.now()
    short = lot_grant(
        organization=organization,
        credits=40,
        source="grant",
        granted_at=now - timedelta(days=1),
        expires_at=now - timedelta(seconds=1),
    )
    long = lot_grant(organization=organization, credits=30, source="grant")
    # The short lot is past expiry but not swept: the sweep races the charges, which must skip it either way.

    def work(i):
        if i % 10 == 0:
            return ("expired", lots_expire())
        try:
            return ("charged", usage_charge(organization=organization, message_id=f"m{i}", direction="inbound"))
        except InsufficientCredits:
            return ("refused", None)

    results = run_threads(60, work)
    charged = [r for kind, r in results if kind == "charged"]
    assert len(charged) == 30  # 54 tries, only the 30 unexpired credits could be spent
    assert all(kind in ("charged", "refused", "expired") for kind, _r in results)
    short.refresh_from_db(), long.refresh_from_db()
    assert short.remaining == 0 and long.remaining == 0
    assert not MessageUsage.objects.filter(lot=short).exists()
    assert LedgerEntry.objects.filter(kind="expiry").count() == 1
    assert CreditBalance.objects.get().balance == 0
    assert ledger_audit(organization.pk)["ok"]


def test_two_expiry_workers_at_once_expire_each_lot_once(organization, other_organization):
    now = timezone.now()
    for org in (organization, other_organization):
        for credits in (5, 6, 7):
            lot_grant(
                organization=org,
                credits=credits,
                source="grant",
                granted_at=now - timedelta(days=2),
                expires_at=now - timedelta(days=1),
            )
    results = run_threads(4, lambda i: lots_expire())
    assert sum(results) == 6
    assert LedgerEntry.objects.filter(kind="expiry").count() == 6
    assert not CreditLot.objects.filter(remaining__gt=0).exists()
    for org in (organization, other_organization):
        assert balance_for(org) == 0 and ledger_audit(org.pk)["ok"]


def test_concurrent_batches_and_singles_never_overspend(organization, api_key):
    lot_grant(organization=organization, credits=500, source="grant")

    def call(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        if i % 2:
            msgs = [{"message_id": f"b{i}-{k}", "direction": "inbound"} for k in range(100)]
            r = client.post("/api/v1/usage/messages/batch", {"messages": msgs}, format="json")
            return sum(x["status"] == "charged" for x in r.json()["results"])
        r = client.post("/api/v1/usage/messages", {"message_id": f"s{i}", "direction": "inbound"}, format="json")
        return 1 if r.status_code == 201 else 0

    results = run_threads(12, call)
    assert sum(results) == 500 - balance_for(organization)
    assert balance_for(organization) >= 0
    assert MessageUsage.objects.count() == sum(results)
    assert ledger_audit(organization.pk)["ok"]
