"""Two workers at once, on PostgreSQL row locks."""

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.db.models import Count

from conversations.models import ChargeCorrection, Conversation, MonthlyStatement, WebhookEvent
from conversations.services import events_process, statement_close, whatsapp_number_add

from .helpers import status_payload

pytestmark = [pytest.mark.django_db(transaction=True)]


def run_in_threads(fn, n):
    errors = []
    barrier = threading.Barrier(n)

    def target(i):
        try:
            barrier.wait()
            fn(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_workers_rating_the_same_message_at_once_count_it_once(organization):
    whatsapp_number_add(organization=organization, phone_number_id="PNID-TEST", waba_id="WABA-TEST", display_number="1")
    at = int(datetime(2025, 8, 1, tzinfo=UTC).timestamp())
    ids = []
    for i, status in enumerate(["sent", "delivered", "read", "delivered"] * 3):
        body = status_payload(
            wamid="w-same",
            status=status,
            timestamp=at + i,
            category="marketing",
            pricing_model="PMP",
            pricing_type="regular",
        )
        ids.append(WebhookEvent.objects.create(body_sha256=f"{i:064d}", body=json.dumps(body)).pk)

    run_in_threads(lambda i: events_process(event_ids=[ids[i]]), len(ids))
    assert Conversation.objects.count() == 1
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == len(ids)


def test_two_workers_closing_a_month_make_one_statement_and_one_invoice(organization):
    from invoices.models import Invoice

    whatsapp_number_add(organization=organization, phone_number_id="PNID-TEST", waba_id="WABA-TEST", display_number="1")
    body = status_payload(
        wamid="w1",
        status="delivered",
        timestamp=int(datetime(2025, 7, 3, tzinfo=UTC).timestamp()),
        category="marketing",
        pricing_model="PMP",
        pricing_type="regular",
    )
    WebhookEvent.objects.create(body_sha256="a" * 64, body=json.dumps(body))
    events_process()
    assert Conversation.objects.get().price > 0, list(WebhookEvent.objects.values("status", "flags", "error"))
    run_in_threads(lambda i: statement_close(organization=organization, month=date(2025, 7, 1)), 4)
    assert MonthlyStatement.objects.count() == 1
    assert Invoice.objects.filter(kind="statement").count() == 1


# A rating worker of its own: a separate Python process on the test database, as two Celery workers would be.
_WORKER = """
import json, sys, time
from pathlib import Path
import django
django.setup()
from conversations import rating
from conversations.services import events_process
rating.FREE_TIER_SIZE = int(sys.argv[2])
ids, ready, n = json.loads(sys.argv[1]), Path(sys.argv[3]), sys.argv[4]
(ready / n).touch()
while len(list(ready.iterdir())) < 2:  # both set up: they start rating together
    time.sleep(0.01)
for start in range(0, len(ids), 4):
    events_process(event_ids=ids[start : start + 4])
"""


def run_in_processes(ids, free_tier_size, tmp_path):
    """Two worker processes, each rating its half of ``ids`` in batches of 4; returns their log output."""
    db = connection.settings_dict
    url = f"postgres://{quote(db['USER'])}@{quote(db['HOST'] or '127.0.0.1', safe='')}:{db['PORT']}/{db['NAME']}"
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="config.settings.test", LOG_LEVEL="WARNING")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    ready = tmp_path / "ready"
    ready.mkdir()
    args = [str(free_tier_size), str(ready)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, json.dumps(ids[n::2]), *args, str(n)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(2)
    ]
    logs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    return "\n".join(logs)


@pytest.mark.parametrize("runner", ["threads", "processes"])
@pytest.mark.parametrize("owners", ["one_organization", "two_organizations"])
def test_two_workers_settling_the_same_months_of_two_wabas_never_deadlock(
    organization, other_organization, owners, runner, monkeypatch, caplog, tmp_path
):
    """Each delivery carries statuses of two WABAs (free tier era service conversations and tiered PMP utility
    messages), so both workers settle the same month groups in every batch. Before the WABA lock order, this
    deadlocked on the free-tier settlement and fell back to one-by-one retries.

    With one organization the two WABAs share one volume (Meta's business portfolio): both workers write the
    same tier positions. With two organizations each has its own volume and the workers share no lock."""
    from conversations import rating
    from conversations.services import rate_card_import_apply, rate_card_import_preview

    from .helpers import wrap

    monkeypatch.setattr(rating, "FREE_TIER_SIZE", 3)
    tiers = "Market,Currency,Category,Tier,Rate\nIndonesia,IDR,Utility,1-4,321\nIndonesia,IDR,Utility,5+,289\n"
    preview = rate_card_import_preview(
        file_name="t.csv", content=tiers.encode(), effective_from=date(2025, 7, 1), actor=None
    )
    rate_card_import_apply(rate_card_import=preview, actor=None)
    owner_of = {"A": organization, "B": organization if owners == "one_organization" else other_organization}
    for suffix in ("A", "B"):
        whatsapp_number_add(
            organization=owner_of[suffix],
            phone_number_id=f"PN-{suffix}",
            waba_id=f"WABA-{suffix}",
            display_number=suffix,
        )
    service_at = int(datetime(2024, 3, 5, tzinfo=UTC).timestamp())
    utility_at = int(datetime(2025, 8, 5, tzinfo=UTC).timestamp())
    ids = []
    for i in range(40):
        entries = []
        # Alternate which WABA comes first, so the two workers meet the groups in opposite orders.
        for suffix in ("A", "B") if i % 2 else ("B", "A"):
            statuses = [
                {"id": f"svc-{suffix}-{i}", "status": "delivered", "timestamp": str(service_at + 97 * ((i * 7) % 40)),
                 "recipient_id": f"62812{i:07d}", "conversation": {"id": f"conv-{suffix}-{i}", "origin": {"type": "service"}},
                 "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"}},
                {"id": f"utl-{suffix}-{i}", "status": "delivered", "timestamp": str(utility_at + 61 * ((i * 11) % 40)),
                 "recipient_id": f"62813{i:07d}",
                 "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}},
            ]  # fmt: skip
            # A message read in this delivery and reported delivered (earlier) in the next one: a correction
            # that moves its place in the month while the other worker settles the same month.
            late = utility_at + 5000 + 13 * i
            statuses.append(
                {
                    "id": f"late-{suffix}-{i}",
                    "status": "read",
                    "timestamp": str(late),
                    "recipient_id": f"62814{i:07d}",
                    "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"},
                }
            )
            if i:
                statuses.append(
                    {
                        "id": f"late-{suffix}-{i - 1}",
                        "status": "delivered",
                        "timestamp": str(utility_at - 4000 + 13 * i),
                        "recipient_id": f"62814{i - 1:07d}",
                    }
                )
            entries.append(wrap(statuses, phone_number_id=f"PN-{suffix}", waba_id=f"WABA-{suffix}")["entry"][0])
        body = {"object": "whatsapp_business_account", "entry": entries}
        ids.append(WebhookEvent.objects.create(body_sha256=f"{i:064d}", body=json.dumps(body)).pk)

    def worker(n):
        mine = ids[n::2]
        for start in range(0, len(mine), 4):
            events_process(event_ids=mine[start : start + 4])

    if runner == "threads":
        with caplog.at_level("ERROR"):
            run_in_threads(worker, 2)
        log = caplog.text
    else:
        log = run_in_processes(ids, rating.FREE_TIER_SIZE, tmp_path)
    assert "batch failed" not in log and "deadlock" not in log.lower()
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.PROCESSED).count() == len(ids)
    for suffix in ("A", "B"):
        service = Conversation.objects.filter(waba_id=f"WABA-{suffix}", category="service")
        assert service.count() == 40 and service.filter(free_reason="free_tier").count() == 3
        # The free ones are the first three that opened, whatever batch or worker rated them.
        first = list(service.order_by("opened_at", "key").values_list("free_reason", flat=True)[:3])
        assert first == ["free_tier"] * 3
    # Volume tiers: one count per organization, across its WABAs, in delivery order.
    for org in {organization, owner_of["B"]}:
        utility = Conversation.objects.filter(organization=org, rate_category="utility").order_by(
            "opened_at", "key", "phone_number_id"
        )
        n = 80 * sum(1 for o in owner_of.values() if o == org)
        assert list(utility.values_list("tier_position", flat=True)) == list(range(1, n + 1))
        assert [int(p) for p in utility.values_list("price", flat=True)] == [321] * 4 + [289] * (n - 4)
    # A late delivered status corrects its message at most once (when its read was rated first), never twice.
    assert ChargeCorrection.objects.count() <= 2 * 39
    assert not ChargeCorrection.objects.values("conversation").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_a_wabas_lock_holds_its_organization_so_its_other_wabas_queue(organization, other_organization):
    """Volume tiers span the organization's WABAs: a worker on WABA-A holds the organization's lock, so a
    worker on WABA-B of the same organization waits, and one on another organization's WABA does not."""
    from django.db import transaction

    from conversations.services import waba_locks

    for pnid, waba, org in [("PN-A", "WABA-A", organization), ("PN-B", "WABA-B", organization),
                            ("PN-X", "WABA-X", other_organization)]:  # fmt: skip
        whatsapp_number_add(organization=org, phone_number_id=pnid, waba_id=waba, display_number=pnid)
    held, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                waba_locks(["WABA-A"])
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10)

        def free(key: str) -> bool:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [key])
                return cursor.fetchone()[0]

        assert not free(f"wa-org:{organization.pk}")  # WABA-B's worker would queue here
        assert free("wa-waba:WABA-B")
        assert free(f"wa-org:{other_organization.pk}") and free("wa-waba:WABA-X")
    finally:
        release.set()
        thread.join()
