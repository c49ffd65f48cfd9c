"""Scale benchmark (not a test): charging, balance reads, the usage chart and month close on a database holding
--rows usage rows (default 100 million) across 12 monthly partitions and --orgs organizations (default 10,000),
against an empty database, in the same run.

    nice -n 10 .venv/bin/python bench/scale_bench.py --rows 1000000      # develop
    nice -n 10 .venv/bin/python bench/scale_bench.py                     # 100,000,000 rows (about 20 GB)

Runs its own durable PostgreSQL cluster (the embedded one, under var/postgres-scale; fsync on) so the machine's
server is left alone, with two databases:
- ``scale_empty``: migrated, the organizations, their lots and balances, no usage;
- ``scale_full``: the same, plus --rows usage rows loaded with set-based SQL (generate_series, one standalone table
  per month attached as its partition afterwards, so the indexes are built once), the deduplication keys of the last
  USAGE_DEDUP_WINDOW_DAYS, the per-day counts and a ledger that sums to the balances (one usage row per
  organization and day, as batches write them), so `audit_ledger` holds.

Then, in child processes, against each database alternately (--rounds rounds of empty, full; the machine is shared,
so each figure is reported per round with the best and the median ratio), through the product's own services (no
HTTP: the database is what grows), after a warm-up: single charges (usage_charge, one statement each, committed),
batches of 1,000 (usage_charge_batch), balance reads (balance_and_lots, the API's), the dashboard's usage chart
(usage_per_day, 30 days) and month close (last month's usage totals from the per-day counts, which a monthly
statement reads) of the measured organization, the same two reads for an organization whose year of per-day
counts is in both databases (so that only everyone else's history differs), every organization's month close, and
the storage job usage_storage_maintain. Prints one table with the load average of each run, the autovacuum workers
seen, and the full/empty ratios (target ≤ 1.2).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import embedded_postgres  # noqa: E402

CLUSTER = ROOT / "var" / "postgres-scale"
PY = sys.executable
MONTHS = 12


def url(db: str) -> str:
    return embedded_postgres.database_url(CLUSTER, db)


def psql_conn(db: str):
    import psycopg

    return psycopg.connect(url(db), autocommit=True)


def recreate(db: str) -> None:
    with psql_conn("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')


def django_env(db: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url(db),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "0",  # as in production: no query log
        "PYTHONPATH": str(ROOT),
    }


def migrate(db: str) -> None:
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=django_env(db), check=True)


def step(label: str, conn, sql: str, params=None) -> None:
    started = time.monotonic()
    cur = conn.execute(sql, params)
    print(f"  {label}: {time.monotonic() - started:.1f} s ({cur.rowcount} rows)", flush=True)


ORG = "md5('scale-org-' || {i})::uuid"
LOT = "md5('scale-lot-' || {i})::uuid"
GRANT = 2_000_000_000


def seed_organizations(db: str, orgs: int) -> None:
    """The organizations (org 0 gets the bench API user's lot), one long-lived grant lot each, balance rows."""
    with psql_conn(db) as conn:
        step(
            "organizations",
            conn,
            f"""INSERT INTO accounts_organization (id, name, slug, legal_name, npwp, address, invoice_email,
                    low_balance_threshold, api_suspended, created_at)
                SELECT {ORG.format(i="i")}, 'Scale ' || i, 'scale-' || i, '', '', '', '', 1000, false,
                       now() - interval '400 days'
                FROM generate_series(0, %s - 1) i""",
            [orgs],
        )
        step(
            "lots",
            conn,
            f"""INSERT INTO credits_creditlot (id, organization_id, source, credits, remaining, granted_at, expires_at,
                    reason, reference, created_at)
                SELECT {LOT.format(i="i")}, {ORG.format(i="i")}, 'grant', {GRANT}, {GRANT},
                       now() - interval '400 days', now() + interval '3650 days', 'scale bench', '', now()
                FROM generate_series(0, %s - 1) i""",
            [orgs],
        )
        step(
            "grant ledger rows",
            conn,
            f"""INSERT INTO credits_ledgerentry (organization_id, kind, delta, balance_after, lot_id, reference, reason,
                    created_at)
                SELECT {ORG.format(i="i")}, 'grant', {GRANT}, {GRANT}, {LOT.format(i="i")}, '', 'scale bench',
                       now() - interval '400 days'
                FROM generate_series(0, %s - 1) i""",
            [orgs],
        )
        step(
            "balances",
            conn,
            f"""INSERT INTO credits_creditbalance (organization_id, balance, updated_at)
                SELECT {ORG.format(i="i")}, {GRANT}, now() FROM generate_series(0, %s - 1) i""",
            [orgs],
        )


def seed_history_of_one(db: str) -> None:
    """In the empty database, organization scale-1 alone gets a year of per-day counts (one outbound row per day, as
    the full database holds for it): the chart and month close then read the same content in both databases, and
    what differs is only everyone else's history."""
    with psql_conn(db) as conn:
        step(
            "per-day counts of scale-1 only",
            conn,
            f"""INSERT INTO credits_usageday (organization_id, day, direction, messages)
                SELECT {ORG.format(i="1")}, d::date, 'outbound', 3
                FROM generate_series((now() AT TIME ZONE 'Asia/Jakarta')::date - 365,
                                     (now() AT TIME ZONE 'Asia/Jakarta')::date, interval '1 day') d""",
        )


def load_usage(db: str, rows: int, orgs: int) -> None:
    """rows usage rows over the 12 months up to now, then keys, per-day counts and the ledger that matches them."""
    from psycopg import sql

    tz = "Asia/Jakarta"
    per_month = rows // MONTHS
    with psql_conn(db) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        # Month bounds in Asia/Jakarta, as credits.partitions draws them.
        months = conn.execute(
            """SELECT to_char(m, 'YYYY_MM'), m AT TIME ZONE %(tz)s, (m + interval '1 month') AT TIME ZONE %(tz)s
               FROM generate_series(date_trunc('month', now() AT TIME ZONE %(tz)s) - interval '11 months',
                                    date_trunc('month', now() AT TIME ZONE %(tz)s), interval '1 month') m""",
            {"tz": tz},
        ).fetchall()
        until = conn.execute("SELECT now() - interval '1 hour'").fetchone()[0]
        for k, (suffix, start, upper) in enumerate(months):
            name = f"credits_messageusage_p{suffix}"
            # The migration made the recent months' (empty) partitions: replace them by loaded tables.
            conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute(f"CREATE TABLE {name} (LIKE credits_messageusage INCLUDING DEFAULTS)")
            first = k * per_month + 1
            org, lot = ORG.format(i="(g %% %(orgs)s)"), LOT.format(i="(g %% %(orgs)s)")
            step(
                f"usage {suffix}",
                conn,
                f"""INSERT INTO {name} (id, message_id, direction, occurred_at, charged_at, credits, lot_id,
                        organization_id, spendable_after)
                    SELECT g, 'h' || g, CASE WHEN g %% 2 = 0 THEN 'inbound' ELSE 'outbound' END, NULL,
                           %(start)s + (%(end)s - %(start)s) * ((g - %(first)s)::float8 / %(n)s), 1, {lot}, {org}, 0
                    FROM generate_series(%(first)s::bigint, %(last)s::bigint) g""",
                {
                    "start": start,
                    "end": min(upper, until),
                    "first": first,
                    "last": first + per_month - 1,
                    "n": per_month,
                    "orgs": orgs,
                },
            )
            started = time.monotonic()
            conn.execute(
                sql.SQL("ALTER TABLE credits_messageusage ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                    sql.Identifier(name), sql.Literal(start), sql.Literal(upper)
                )
            )
            print(f"  attach {suffix} (its indexes built): {time.monotonic() - started:.1f} s", flush=True)
        conn.execute("SELECT setval('credits_messageusage_id_seq', %s, false)", [per_month * MONTHS + 1])
        # In charge order, as production writes them (the BRIN index the prune reads relies on it); the key's
        # btree is built once afterwards.
        conn.execute("ALTER TABLE credits_messageusagekey DROP CONSTRAINT credits_messageusagekey_pkey")
        step(
            "deduplication keys of the window (35 days)",
            conn,
            """INSERT INTO credits_messageusagekey (organization_id, message_id, direction, occurred_at, spendable_after,
                    charged_at)
               SELECT organization_id, message_id, direction, occurred_at, spendable_after, charged_at
               FROM credits_messageusage WHERE charged_at >= now() - interval '35 days'
               ORDER BY charged_at""",
        )
        step(
            "the keys' primary key",
            conn,
            """ALTER TABLE credits_messageusagekey
               ADD CONSTRAINT credits_messageusagekey_pkey PRIMARY KEY (organization_id, message_id)""",
        )
        conn.execute("REINDEX INDEX usage_key_charged_brin")
        for suffix, _start, _upper in months:
            step(
                f"per-day counts {suffix}",
                conn,
                f"""INSERT INTO credits_usageday (organization_id, day, direction, messages)
                    SELECT organization_id, (charged_at AT TIME ZONE '{tz}')::date, direction, count(*)
                    FROM credits_messageusage_p{suffix} GROUP BY 1, 2, 3
                    ON CONFLICT (organization_id, day, direction)
                    DO UPDATE SET messages = credits_usageday.messages + excluded.messages""",
            )
        step(
            "usage ledger rows (one per organization and day, as batches write them)",
            conn,
            f"""INSERT INTO credits_ledgerentry (organization_id, kind, delta, balance_after, lot_id, reference, reason,
                    created_at)
                SELECT d.organization_id, 'usage', -d.n,
                       {GRANT} - sum(d.n) OVER (PARTITION BY d.organization_id ORDER BY d.day), l.id,
                       'day:' || d.day, '', (d.day + time '23:59') AT TIME ZONE '{tz}'
                FROM (SELECT organization_id, day, sum(messages) AS n FROM credits_usageday GROUP BY 1, 2) d
                JOIN credits_creditlot l ON l.organization_id = d.organization_id
                ORDER BY d.day, d.organization_id""",
        )
        step(
            "lots and balances follow the usage",
            conn,
            f"""WITH used AS (SELECT organization_id, sum(messages) AS n FROM credits_usageday GROUP BY 1),
                lots AS (UPDATE credits_creditlot l SET remaining = {GRANT} - used.n FROM used
                         WHERE l.organization_id = used.organization_id RETURNING 1)
                UPDATE credits_creditbalance b SET balance = {GRANT} - used.n FROM used
                WHERE b.organization_id = used.organization_id""",
        )
        started = time.monotonic()
        # A year-old database has had its old partitions vacuumed long ago. Without this, insert-triggered
        # autovacuum works through the freshly loaded partitions (throttled, for many minutes) while the full
        # database is measured, and the figures measure that instead of the data's size.
        partitions = [f"credits_messageusage_p{suffix}" for suffix, _start, _upper in months]
        conn.execute(
            f"VACUUM (ANALYZE) credits_messageusagekey, credits_usageday, credits_ledgerentry, {', '.join(partitions)}"
        )
        conn.execute("ANALYZE credits_messageusage")
        conn.execute("CHECKPOINT")
        print(f"  vacuum, analyze + checkpoint: {time.monotonic() - started:.1f} s", flush=True)


# --- measuring (runs in a child process with Django set up on one database) -------------------------------------


def measure(args) -> dict:
    import django

    django.setup()
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from accounts.models import Organization
    from core.months import Month
    from credits import partitions
    from credits.selectors import balance_and_lots, usage_per_day
    from credits.services import UsageMessage, usage_charge, usage_charge_batch

    org = Organization.objects.get(slug="scale-0")
    tag = f"{args.tag}-{time.time_ns()}"

    def autovacuum_workers() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
            return cursor.fetchone()[0]

    out = {"load": os.getloadavg()[0], "autovacuum_before": autovacuum_workers()}

    def timed(fn, n):
        samples = []
        for i in range(n):
            t = time.perf_counter()
            fn(i)
            samples.append(time.perf_counter() - t)
        return samples

    def single(i):
        usage_charge(organization=org, message_id=f"{tag}-s{i}", direction="outbound")

    def batch(i):
        usage_charge_batch(organization=org, messages=[UsageMessage(f"{tag}-b{i}-{j}", "inbound") for j in range(1000)])

    # Warm-up, not measured: the process's first calls, and the pages this round's keys land on.
    timed(lambda i: single(-1 - i), 100)
    timed(lambda i: batch(-1 - i), 3)
    s = timed(single, args.singles)
    out["single_per_s"] = len(s) / sum(s)
    b = timed(batch, args.batches)
    out["batch_msg_per_s"] = 1000 * len(b) / sum(b)
    out["balance_p50_ms"] = 1000 * statistics.median(timed(lambda i: balance_and_lots(org), args.reads))
    out["chart_p50_ms"] = 1000 * statistics.median(timed(lambda i: usage_per_day(org, days=30), args.reads))
    other = Organization.objects.get(slug="scale-1")  # a year of per-day counts in both databases
    out["chart_same_p50_ms"] = 1000 * statistics.median(timed(lambda i: usage_per_day(other, days=30), args.reads))
    last = Month.of(timezone.now()).previous()

    def close(org_id):
        # Last month's totals per direction: what a monthly statement reads. None: every organization.
        where, params = "day >= %s AND day < %s", [last.first_day, last.next().first_day]
        if org_id is not None:
            where, params = where + " AND organization_id = %s", [*params, org_id]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT organization_id, direction, sum(messages) FROM credits_usageday WHERE {where} GROUP BY 1, 2",  # noqa: S608
                params,
            )
            return len(cursor.fetchall())

    out["close_org_ms"] = 1000 * statistics.median(timed(lambda i: close(org.pk), args.reads))
    out["close_same_ms"] = 1000 * statistics.median(timed(lambda i: close(other.pk), args.reads))
    out["close_all_ms"] = 1000 * min(timed(lambda i: close(None), 3))
    out["close_all_rows"] = close(None)
    out["job_ms"] = 1000 * min(timed(lambda i: partitions.usage_storage_maintain(), 2))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM credits_messageusagekey WHERE charged_at < %s", [timezone.now() - timedelta(days=36)]
        )
        out["stale_keys"] = cursor.fetchone()[0]
    out["autovacuum_after"] = autovacuum_workers()
    return out


def run_measure(db: str, args, tag: str) -> dict:
    cmd = [
        PY,
        __file__,
        "--measure",
        "--tag",
        tag,
        "--singles",
        str(args.singles),
        "--batches",
        str(args.batches),
        "--reads",
        str(args.reads),
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=django_env(db), check=True, text=True, capture_output=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def audit(db: str) -> str:
    done = subprocess.run(
        [PY, "manage.py", "audit_ledger"], cwd=ROOT, env=django_env(db), text=True, capture_output=True, check=False
    )
    return f"exit {done.returncode}: {(done.stdout.strip().splitlines() or [done.stderr.strip()])[-1]}"


def sizes(db: str) -> str:
    with psql_conn(db) as conn:
        rows = conn.execute(
            """SELECT count(*) FILTER (WHERE true), pg_size_pretty(pg_database_size(current_database()))
               FROM pg_inherits WHERE inhparent = 'credits_messageusage'::regclass"""
        ).fetchone()
        keys = conn.execute("SELECT count(*) FROM credits_messageusagekey").fetchone()[0]
        usage = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'credits_messageusage'").fetchone()
    return f"{rows[0]} partitions, ~{usage[0]:,} usage rows (planner estimate), {keys:,} keys, database {rows[1]}"


def joined(values) -> str:
    return " / ".join(f"{v:,.1f}" for v in values)


ROWS = [
    ("single charges / s", "single_per_s", True),
    ("batches of 1,000: messages / s", "batch_msg_per_s", True),
    ("balance read p50 (ms)", "balance_p50_ms", False),
    ("usage chart, 30 days, p50 (ms)", "chart_p50_ms", False),
    ("month close of one organization: last month's totals, p50 (ms)", "close_org_ms", False),
    ("storage job: partitions ahead, retire, prune (ms)", "job_ms", False),
    ("usage chart of scale-1 (a year of per-day counts in both databases), p50 (ms)", "chart_same_p50_ms", False),
    ("month close of scale-1 (last month's counts in both databases), p50 (ms)", "close_same_ms", False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4, help="rounds of empty, full (each figure: best and median)")
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--reuse", action="store_true", help="keep scale_full from the previous run (skip the load)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="x", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args)))
        return

    server = embedded_postgres.start(CLUSTER)
    try:
        with psql_conn("postgres") as conn:
            conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
            conn.execute("SELECT pg_reload_conf()")
        print(f"Cluster {CLUSTER}; {args.rows:,} usage rows, {args.orgs:,} organizations", flush=True)
        recreate("scale_empty")
        migrate("scale_empty")
        seed_organizations("scale_empty", args.orgs)
        seed_history_of_one("scale_empty")
        if not args.reuse:
            started = time.monotonic()
            recreate("scale_full")
            migrate("scale_full")
            seed_organizations("scale_full", args.orgs)
            load_usage("scale_full", args.rows, args.orgs)
            print(f"Loaded in {time.monotonic() - started:.0f} s: {sizes('scale_full')}", flush=True)
        results: dict[str, list[dict]] = {"empty": [], "full": []}
        for rnd in range(1, args.rounds + 1):
            for db in ("empty", "full"):
                r = run_measure(f"scale_{db}", args, f"{db}{rnd}")
                results[db].append(r)
                print(f"  round {rnd} {db}: {json.dumps({k: round(v, 2) for k, v in r.items()})}", flush=True)
        print()
        print(f"Scale benchmark: {args.rows:,} usage rows in 12 monthly partitions, {args.orgs:,} organizations")
        print(f"full database: {sizes('scale_full')}")
        print()
        print(
            "| figure | empty (each round) | full (each round) | best full / best empty | median full / median empty "
            "| target |"
        )
        print("|---|---|---|---|---|---|")
        for label, key, higher in ROWS:
            e = [r[key] for r in results["empty"]]
            f = [r[key] for r in results["full"]]
            best_e, best_f = (max(e), max(f)) if higher else (min(e), min(f))
            med_e, med_f = statistics.median(e), statistics.median(f)
            # > 1 means the full database is slower
            best = best_e / best_f if higher else best_f / best_e
            med = med_e / med_f if higher else med_f / med_e
            print(f"| {label} | {joined(e)} | {joined(f)} | {best:.2f}× | {med:.2f}× | ≤ 1.2× |")
        e, f = results["empty"], results["full"]
        print(
            f"| month close of every organization (ms; reads only last month's per-day counts: "
            f"{f[0]['close_all_rows']:,} totals in full, {e[0]['close_all_rows']:,} in empty) | "
            f"{joined(r['close_all_ms'] for r in e)} | {joined(r['close_all_ms'] for r in f)} "
            f"| (not comparable: empty has one organization's month to close) | | |"
        )
        loads = " / ".join(
            f"{r['load']:.2f}" for pair in zip(results["empty"], results["full"], strict=True) for r in pair
        )
        autovacuum = sum(r["autovacuum_before"] + r["autovacuum_after"] for rs in results.values() for r in rs)
        print(f"| load average (1 min) at the start of each run: empty, full, … | {loads} | | | | |")
        print(f"| autovacuum workers seen at the start or end of a run | {autovacuum} | | | | |")
        print()
        print(f"audit_ledger on the full database: {audit('scale_full')}")
        print(f"audit_ledger on the empty database: {audit('scale_empty')}")
    finally:
        if server is not None:
            embedded_postgres.stop(server)


if __name__ == "__main__":
    main()
