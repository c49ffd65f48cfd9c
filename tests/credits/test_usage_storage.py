"""Bounded usage storage (issue 20): monthly partitions made ahead by the job, exactly-once within the deduplication
window (409 message_id_expired beyond it, never charged twice), retired months exported and dropped with the ledger
audit and the dashboard's chart intact."""

import gzip
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from core.months import JAKARTA, Month
from credits import partitions
from credits.models import LedgerEntry, MessageUsage, MessageUsageKey
from credits.selectors import balance_for, ledger_audit, usage_per_day
from credits.services import usage_charge
from credits.tasks import maintain_usage_storage

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage/messages"
BATCH = "/api/v1/usage/messages/batch"


def post(client, url, data):
    return client.post(url, data, format="json")


def _attached():
    with connection.cursor() as cursor:
        return partitions.attached_partitions(cursor)


def _rows_in(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (a fixed test table name)
        return cursor.fetchone()[0]


@pytest.fixture
def archive(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- the deduplication window ---------------------------------------------------------------------------------------


def test_a_replay_inside_the_window_is_a_replay(api_client, organization, grant):
    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        grant(organization, 10, days=90)
        body = {"message_id": "wamid.1", "direction": "inbound", "occurred_at": start.isoformat()}
        first = post(api_client, URL, body)
    with time_machine.travel(start + timedelta(days=34), tick=False):
        partitions.usage_keys_prune()  # the daily job has run: a key inside the window is kept
        again = post(api_client, URL, body)
        bare = post(api_client, URL, {"message_id": "wamid.2", "direction": "inbound"})
    assert (first.status_code, again.status_code, bare.status_code) == (201, 200, 201)
    assert again.json() == first.json()
    assert balance_for(organization) == 8
    assert MessageUsage.objects.filter(message_id="wamid.1").count() == 1


def test_a_replay_outside_the_window_answers_409_and_is_not_charged(api_client, organization, grant):
    start = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        grant(organization, 10, days=90)
        body = {"message_id": "wamid.1", "direction": "inbound", "occurred_at": start.isoformat()}
        assert post(api_client, URL, body).status_code == 201
    with time_machine.travel(start + timedelta(days=36), tick=False):
        # Before the prune its key still answers a replay; after it, the message is refused, never charged again.
        assert post(api_client, URL, body).status_code == 200
        assert partitions.usage_keys_prune() == 1
        r = post(api_client, URL, body)
        batch = post(api_client, BATCH, {"messages": [body, {"message_id": "wamid.3", "direction": "outbound"}]})
    assert r.status_code == 409
    assert r.json()["error"] == "message_id_expired"
    assert [item["status"] for item in batch.json()["results"]] == ["invalid", "charged"]
    assert batch.json()["results"][0]["detail"]["error"] == "message_id_expired"
    assert balance_for(organization) == 8  # wamid.1 once, wamid.3 once
    assert MessageUsage.objects.filter(message_id="wamid.1").count() == 1
    assert ledger_audit(organization.pk)["ok"]


def test_a_message_older_than_the_window_is_refused_even_if_never_seen(api_client, organization, grant):
    grant(organization, 10)
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    r = post(api_client, URL, {"message_id": "late", "direction": "outbound", "occurred_at": old})
    assert r.status_code == 409 and r.json()["error"] == "message_id_expired"
    assert balance_for(organization) == 10
    assert not MessageUsageKey.objects.filter(message_id="late").exists()
    assert not LedgerEntry.objects.filter(kind="usage").exists()


def test_the_window_is_a_setting_of_at_least_35_days(settings, organization, grant):
    settings.USAGE_DEDUP_WINDOW_DAYS = 60
    grant(organization, 10)
    result = usage_charge(
        organization=organization,
        message_id="m",
        direction="inbound",
        occurred_at=datetime.now(UTC) - timedelta(days=50),
    )
    assert result.created


# --- partitions -----------------------------------------------------------------------------------------------------


def test_the_job_creates_next_months_partitions_ahead_of_time(settings):
    settings.USAGE_PARTITIONS_AHEAD = 2
    with time_machine.travel(datetime(2030, 5, 20, tzinfo=JAKARTA), tick=False):
        maintain_usage_storage.delay()
        first = _attached()
        again = partitions.usage_storage_maintain()
    for name in ("credits_messageusage_p2030_05", "credits_messageusage_p2030_06", "credits_messageusage_p2030_07"):
        assert name in first
    assert "credits_messageusage_p2030_08" not in first
    assert again["created"] == [] and _attached() == first  # idempotent (invariant 9)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE relname = 'credits_messageusage_p2030_06'"
        )
        bound = cursor.fetchone()[0]
    assert "2030-06-01 00:00:00+07" in bound or "2030-05-31 17:00:00+00" in bound


def test_the_job_is_in_the_beat_schedule():
    call_command("setup_periodic_tasks", stdout=StringIO())
    assert PeriodicTask.objects.get(name="maintain usage storage").task == "credits.tasks.maintain_usage_storage"


def test_rows_of_a_month_without_partition_move_into_it_when_it_is_made(organization, grant):
    with time_machine.travel(datetime(2031, 2, 10, 12, tzinfo=JAKARTA), tick=False):
        grant(organization, 5)
        usage_charge(organization=organization, message_id="early", direction="inbound")
        assert _rows_in(partitions.DEFAULT_PARTITION) == 1
        assert partitions.usage_partitions_ensure(ahead=0) == ["credits_messageusage_p2031_02"]
    assert _rows_in(partitions.DEFAULT_PARTITION) == 0
    assert _rows_in("credits_messageusage_p2031_02") == 1
    assert MessageUsage.objects.get().message_id == "early"


def test_retiring_a_month_exports_it_and_keeps_the_audit_and_the_chart(archive, organization, grant):
    charged_on = datetime(2025, 1, 15, 10, tzinfo=JAKARTA)
    with time_machine.travel(charged_on, tick=False):
        partitions.usage_partitions_ensure(ahead=1)
        grant(organization, 100)
        for n in range(7):
            usage_charge(organization=organization, message_id=f"jan-{n}", direction="outbound" if n % 2 else "inbound")
        chart_before = usage_per_day(organization, now=charged_on)
    call_command("audit_ledger", stdout=StringIO())  # clean before
    balance_before = balance_for(organization, now=charged_on)

    with time_machine.travel(datetime(2026, 2, 3, tzinfo=JAKARTA), tick=False):
        assert partitions.retention_cutoff() == Month(2025, 2)
        done = partitions.usage_partitions_retire()
        assert partitions.usage_partitions_retire() == []  # a second run finds nothing more
    assert [d["partition"] for d in done] == ["credits_messageusage_p2025_01"]
    assert done[0]["rows"] == 7
    assert "credits_messageusage_p2025_01" not in _attached()
    assert "credits_messageusage_p2025_02" in _attached()  # inside the retention
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('credits_messageusage_p2025_01')")
        assert cursor.fetchone()[0] is None  # dropped
    assert not MessageUsage.objects.filter(message_id__startswith="jan-").exists()

    with default_storage.open(partitions.archive_path("credits_messageusage_p2025_01")) as f:
        lines = gzip.decompress(f.read()).decode().splitlines()
    assert lines[0].startswith("id,message_id,direction,")
    assert sorted(line.split(",")[1] for line in lines[1:]) == [f"jan-{n}" for n in range(7)]

    call_command("audit_ledger", stdout=StringIO())  # exits 1 if any organization disagrees
    assert ledger_audit(organization.pk)["ok"]
    assert balance_for(organization, now=charged_on) == balance_before == 93
    assert usage_per_day(organization, now=charged_on) == chart_before
    assert chart_before[-1] == {"day": charged_on.date(), "inbound": 4, "outbound": 3, "total": 7}


def test_a_retirement_that_stopped_after_the_detach_is_finished_by_the_next_run(archive, organization, grant):
    with time_machine.travel(datetime(2025, 3, 5, tzinfo=JAKARTA), tick=False):
        partitions.usage_partitions_ensure(ahead=0)
        grant(organization, 5)
        usage_charge(organization=organization, message_id="mar", direction="inbound")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE credits_messageusage DETACH PARTITION credits_messageusage_p2025_03")
    with time_machine.travel(datetime(2026, 6, 1, tzinfo=JAKARTA), tick=False):
        done = partitions.usage_partitions_retire()
    assert [(d["partition"], d["rows"]) for d in done] == [("credits_messageusage_p2025_03", 1)]
    assert default_storage.exists(partitions.archive_path("credits_messageusage_p2025_03"))


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_each_partition_once(settings):
    """Invariant 9 with real threads: the advisory lock serializes the job; the second worker finds the work done."""
    import threading

    settings.USAGE_PARTITIONS_AHEAD = 2
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def worker(i):
        try:
            barrier.wait()
            results[i] = partitions.usage_storage_maintain(now=datetime(2032, 8, 1, tzinfo=JAKARTA))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not any(isinstance(r, Exception) for r in results), results
    made = sorted(name for r in results for name in r["created"])
    assert made == ["credits_messageusage_p2032_08", "credits_messageusage_p2032_09", "credits_messageusage_p2032_10"]
    with connection.cursor() as cursor:
        for name in made:  # the flush between tests empties tables, it does not drop partitions
            cursor.execute(f"DROP TABLE {name}")


def _prune_search_blocks(cutoff) -> int:
    """Heap blocks the prune's search reads for ``cutoff`` (lossy: a BRIN bitmap names ranges, not rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT ctid FROM credits_messageusagekey WHERE charged_at < %s",
            [cutoff],
        )
        plan = cursor.fetchone()[0][0]["Plan"]
    while "Lossy Heap Blocks" not in plan:
        plan = plan["Plans"][0]
    return plan["Exact Heap Blocks"] + plan["Lossy Heap Blocks"]


def test_the_prune_reads_the_old_keys_not_every_key_written_since_the_last_vacuum(organization):
    """Keys arrive in charge order, so the BRIN index finds the old ones in the first ranges; but a range nobody
    summarized matches any search. The prune summarizes the new ranges first, and the index asks autovacuum to
    summarize each range as it fills (autosummarize)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            """INSERT INTO credits_messageusagekey (organization_id, message_id, direction, spendable_after, charged_at)
               SELECT %s, 'k' || g, 'inbound', 0, %s - interval '40 days' + g * interval '1 second'
               FROM generate_series(1, 100) g
               UNION ALL
               SELECT %s, 'n' || g, 'inbound', 0, %s FROM generate_series(1, 100000) g""",
            [organization.pk, now, organization.pk, now],
        )
        cursor.execute("SELECT pg_relation_size('credits_messageusagekey') / current_setting('block_size')::int")
        pages = cursor.fetchone()[0]
        assert pages > 6 * 128  # more than six BRIN ranges of new keys
        cutoff = now - timedelta(days=36)
        unsummarized = _prune_search_blocks(cutoff)
        assert unsummarized > 5 * 128  # before: the new keys' pages are candidates too
        assert partitions.usage_keys_prune(now=now) == 100
        assert MessageUsageKey.objects.count() == 100000
        # After: the ranges that hold old keys (the first one, or two if the old keys straddle a boundary or an
        # earlier test's rolled-back rows left pages in front of them), not the new ones.
        assert _prune_search_blocks(cutoff) <= min(2 * 128, unsummarized // 3)
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'usage_key_charged_brin'")
        assert "autosummarize=on" in cursor.fetchone()[0]
