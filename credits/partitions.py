"""Bounded usage storage (issue 20): ``credits_messageusage`` is range-partitioned by local month of ``charged_at``.

Rules enforced here:
- the months ahead (``USAGE_PARTITIONS_AHEAD``) always have their partition before a charge needs it; a row that
  lands in the DEFAULT partition (a missing month) is moved into its month when that month's partition is made;
- a month older than ``USAGE_RETENTION_MONTHS`` is detached, exported as gzip CSV to the default storage
  (``usage-archive/<partition>.csv.gz``), checked (row count of the file = rows of the table) and only then dropped;
  the dashboard's chart reads ``credits_usageday`` (kept in the charge's transaction), ledger and invoices are never
  touched, so both stay exact;
- the deduplication keys (``credits_messageusagekey``) are kept ``USAGE_DEDUP_WINDOW_DAYS`` (+ the API's clock
  tolerance) after their charge, then pruned;
- every step is idempotent and takes a transaction-level advisory lock, so two workers at once change nothing more
  (invariant 9); a run that stopped between detach and drop is finished by the next one.
"""

from __future__ import annotations

import gzip
import re
import tempfile
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from core.months import Month

PARENT = "credits_messageusage"
DEFAULT_PARTITION = f"{PARENT}_default"
ARCHIVE_DIR = "usage-archive"
_NAME_RE = re.compile(rf"^{PARENT}_p(\d{{4}})_(\d{{2}})$")
# pg_advisory_xact_lock key: "usage partitions" (any constant unique to this job).
_LOCK_KEY = 20_2026_12
# The API accepts occurred_at up to this far ahead of the server clock (credits.api.FUTURE_TOLERANCE): a key is kept
# that much longer than the window so its message is refused as expired before its key is gone.
KEY_MARGIN = timedelta(minutes=10)
KEY_BRIN_INDEX = "usage_key_charged_brin"


def partition_name(month: Month) -> str:
    return f"{PARENT}_p{month.year:04d}_{month.month:02d}"


def month_of_partition(name: str) -> Month | None:
    match = _NAME_RE.match(name)
    return Month(int(match.group(1)), int(match.group(2))) if match else None


def _tz():
    return timezone.get_default_timezone()


def _lock(cursor) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def attached_partitions(cursor) -> list[str]:
    cursor.execute(
        """
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = %s::regclass ORDER BY c.relname
        """,
        [PARENT],
    )
    return [name for (name,) in cursor.fetchall()]


def _detached_partitions(cursor) -> list[str]:
    """Month tables that exist but hang off no parent: a retirement that stopped before its drop."""
    cursor.execute(
        """
        SELECT c.relname FROM pg_class c
        WHERE c.relkind = 'r' AND c.relname ~ %s AND c.relnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)
        ORDER BY c.relname
        """,
        [_NAME_RE.pattern],
    )
    return [name for (name,) in cursor.fetchall()]


def create_month_partition(cursor, month: Month, attached: set[str] | None = None) -> bool:
    """Create ``month``'s partition unless it exists (True if made). Rows that fell into the DEFAULT partition
    for that month move into it in the same transaction; indexes come from the parent's partitioned indexes.
    ``attached``: the partitions already read under the job's lock (one catalog read for several months)."""
    name = partition_name(month)
    if name in (attached if attached is not None else attached_partitions(cursor)):
        return False
    start, end = month.bounds(_tz())
    cursor.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    # Table names are built by partition_name(), never from input.
    move = f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE charged_at >= %s AND charged_at < %s RETURNING *) "  # noqa: S608
    cursor.execute(move + f"INSERT INTO {name} SELECT * FROM moved", [start, end])  # noqa: S608
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])
    return True


def usage_partitions_ensure(*, now: datetime | None = None, ahead: int | None = None) -> list[str]:
    """The current month and the next ``ahead`` months (USAGE_PARTITIONS_AHEAD) have their partitions.
    Returns the names created by this run."""
    now = now or timezone.now()
    ahead = settings.USAGE_PARTITIONS_AHEAD if ahead is None else ahead
    month = Month.of(now, _tz())
    made = []
    with transaction.atomic(), connection.cursor() as cursor:
        _lock(cursor)
        attached = set(attached_partitions(cursor))
        for _i in range(ahead + 1):
            if create_month_partition(cursor, month, attached):
                made.append(partition_name(month))
            month = month.next()
    return made


def retention_cutoff(now: datetime | None = None) -> Month:
    """The oldest month still kept: this month and the USAGE_RETENTION_MONTHS - 1 before it."""
    month = Month.of(now or timezone.now(), _tz())
    for _i in range(settings.USAGE_RETENTION_MONTHS - 1):
        month = month.previous()
    return month


def archive_path(name: str) -> str:
    return f"{ARCHIVE_DIR}/{name}.csv.gz"


def _export(cursor, name: str) -> int:
    """COPY the table as gzip CSV into the default storage, streamed through a temporary file (a month can be
    gigabytes); returns the number of rows COPY reported."""
    path = archive_path(name)
    with tempfile.TemporaryFile() as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb") as gz:
            with cursor.copy(f"COPY {name} TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
                for chunk in copy:
                    gz.write(chunk)
        rows = cursor.rowcount
        spool.seek(0)
        if default_storage.exists(path):
            default_storage.delete(path)  # a previous run's partial file
        saved = default_storage.save(path, File(spool, name=path))
    if saved != path:
        raise RuntimeError(f"{name}: the storage saved the export as {saved}, not {path}")
    return rows


def usage_partitions_retire(*, now: datetime | None = None) -> list[dict]:
    """Detach, export and drop every month partition older than the retention. Each month in its own transaction:
    detach, COPY to the storage, compare the counts, drop. Returns [{"partition", "rows", "path"}]."""
    keep_from = retention_cutoff(now)
    done = []
    with connection.cursor() as cursor:
        candidates = sorted(
            {
                name
                for name in attached_partitions(cursor) + _detached_partitions(cursor)
                if (m := month_of_partition(name)) is not None and m < keep_from
            }
        )
    for name in candidates:
        with transaction.atomic(), connection.cursor() as cursor:
            _lock(cursor)
            if name in attached_partitions(cursor):
                cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {name}")
            elif name not in _detached_partitions(cursor):
                continue  # another worker finished it
            cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608 (a name matching _NAME_RE)
            (count,) = cursor.fetchone()
            exported = _export(cursor, name)
            if exported != count:
                raise RuntimeError(f"{name}: exported {exported} rows of {count}; not dropped")
            cursor.execute(f"DROP TABLE {name}")
            done.append({"partition": name, "rows": count, "path": archive_path(name)})
    return done


def usage_keys_prune(*, now: datetime | None = None, chunk: int = 50_000) -> int:
    """Delete deduplication keys charged more than the window (+ margin) ago, in chunks. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.USAGE_DEDUP_WINDOW_DAYS) - KEY_MARGIN
    total = 0
    # A BRIN range nobody summarized yet matches every search, so the scan below would read every key written
    # since autovacuum last came by. Summarizing first costs one read of those new pages (a day of keys, not the
    # window); the search then reads only the ranges that hold keys older than the cutoff.
    with connection.cursor() as cursor:
        cursor.execute("SELECT brin_summarize_new_values(%s::regclass)", [KEY_BRIN_INDEX])
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                DELETE FROM credits_messageusagekey WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM credits_messageusagekey WHERE charged_at < %s LIMIT %s))
                """,
                [cutoff, chunk],
            )
            total += cursor.rowcount
            if cursor.rowcount < chunk:
                return total


def usage_storage_maintain(*, now: datetime | None = None) -> dict:
    """The daily job: partitions ahead, retire past retention, prune dedup keys."""
    return {
        "created": usage_partitions_ensure(now=now),
        "retired": usage_partitions_retire(now=now),
        "keys_pruned": usage_keys_prune(now=now),
    }
