"""Read-replica benchmark (not a test): how far a streaming replica falls behind under charging, and what the
dashboard's usage chart costs read from it.

Builds a primary (the embedded PostgreSQL, durable, under var/replica-bench/primary) and a hot standby made from it
with ``pg_basebackup -R`` (var/replica-bench/replica), streaming over the primary's Unix socket; the machine's own
PostgreSQL is left alone. Then, with ``DATABASE_REPLICA_URL`` set as in production:

1. **lag**: a child process charges batches of 1,000 messages (``usage_charge_batch``) for ``--seconds`` while this
   process samples, every 50 ms, how long a commit on the primary takes to become visible on the replica (it
   commits a numbered row, then polls the replica until it sees that row); then the same idle;
2. **chart**: ``usage_per_day`` (30 days, the dashboard's chart, the one read inside ``core.db.lag_tolerant()``)
   read through the router (so from the replica) and with the replica switched off (from the primary),
   interleaved; p50/p99, plus a check that the router sent the reads to the replica and that once it has caught up
   the replica's chart equals the primary's.

Usage:  .venv/bin/python bench/replica_bench.py [--seconds 10] [--reads 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from config import embedded_postgres as ep  # noqa: E402

BASE = ROOT / "var" / "replica-bench"
PRIMARY, REPLICA = BASE / "primary", BASE / "replica"
DB = "saldo"
PY = sys.executable


def env_for(replica: bool) -> dict:
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.credits_settings",
        DATABASE_URL=ep.database_url(PRIMARY, DB),
        PYTHONPATH=str(ROOT),
    )
    env.pop("DATABASE_REPLICA_URL", None)
    if replica:
        env["DATABASE_REPLICA_URL"] = ep.database_url(REPLICA, DB)
    return env


def start_replica(user: str | None) -> subprocess.Popen:
    sockets = ep.socket_dir(REPLICA)
    sockets.mkdir(parents=True, exist_ok=True)
    ep._chown(sockets, user)
    args = [ep._bin("postgres"), "-D", str(REPLICA)]
    settings = {**ep.SERVER_SETTINGS, "unix_socket_directories": str(sockets), "port": str(ep.PORT)}
    settings["hot_standby"] = "on"
    for name, value in settings.items():
        args += ["-c", f"{name}={value}"]
    log = open(BASE / "replica.log", "ab")  # noqa: SIM115 - handed to the server process
    server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, user=user)
    log.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(ep.database_url(REPLICA, DB)) as conn:
                if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return server
        except psycopg.OperationalError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the replica did not start:\n" + (BASE / "replica.log").read_text()[-2000:])
        time.sleep(0.1)


def charge_child(seconds: float) -> None:
    """Child process: batches of 1,000 for one organization for ``seconds``; prints messages/s."""
    import django

    django.setup()
    from accounts.models import Organization
    from credits.services import UsageMessage, usage_charge_batch

    org = Organization.objects.get(slug="replica-bench")
    n, batch, end = 0, 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        batch += 1
        messages = [UsageMessage(f"lag-{os.getpid()}-{batch}-{i}", "outbound", None) for i in range(1000)]
        usage_charge_batch(organization=org, messages=messages)
        n += 1000
    print(json.dumps({"messages_per_s": n / (time.perf_counter() - start)}))


def chart_child(reads: int) -> None:
    """Child process: the chart through the router (replica) and with the router's replica hidden (primary),
    interleaved; prints p50/p99 of each and whether the reads reached the replica."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from accounts.models import Organization
    from credits.selectors import usage_per_day

    org = Organization.objects.get(slug="replica-bench")
    replica_db = settings.DATABASES.pop("replica")
    times: dict[str, list[float]] = {"replica": [], "primary": []}
    charts = {}
    for i in range(reads * 2):
        where = "replica" if i % 2 == 0 else "primary"
        if where == "replica":
            settings.DATABASES["replica"] = replica_db
        else:
            settings.DATABASES.pop("replica", None)
        t = time.perf_counter()
        charts[where] = usage_per_day(org)
        times[where].append(time.perf_counter() - t)
    settings.DATABASES["replica"] = replica_db
    opened = connections["replica"].connection is not None  # by the router's reads, before this check opens it
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        (in_recovery,) = cursor.fetchone()
    used_replica = opened and in_recovery
    out = {
        k: {
            "p50": statistics.median(v) * 1000,
            "p99": sorted(v)[int(len(v) * 0.99)] * 1000,
        }
        for k, v in times.items()
    }
    out["used_replica"] = bool(used_replica)
    out["same_chart"] = charts["replica"] == charts["primary"]
    out["messages_in_chart"] = sum(d.get("outbound", 0) + d.get("inbound", 0) for d in charts["primary"])
    print(json.dumps(out, default=str))


def sample_lag(stop: threading.Event, lags: list[float]) -> None:
    """Commit-to-visible delay: commit a numbered row on the primary, poll the replica until it sees that row.
    (Comparing WAL positions instead overstates it: the insert position can sit past a page header that the
    replica only replays once the next record arrives, up to 15 s later on an idle primary.)"""
    with (
        psycopg.connect(ep.database_url(PRIMARY, DB), autocommit=True) as primary,
        psycopg.connect(ep.database_url(REPLICA, DB), autocommit=True) as replica,
    ):
        primary.execute("CREATE TABLE IF NOT EXISTS bench_heartbeat (n bigint PRIMARY KEY)")
        (n,) = primary.execute("SELECT coalesce(max(n), 0) FROM bench_heartbeat").fetchone()
        while not stop.is_set():
            n += 1
            primary.execute("INSERT INTO bench_heartbeat VALUES (%s)", [n])
            t = time.perf_counter()
            while True:
                try:
                    if replica.execute("SELECT 1 FROM bench_heartbeat WHERE n = %s", [n]).fetchone():
                        break
                except psycopg.errors.UndefinedTable:  # the table itself not replayed yet
                    pass
                time.sleep(0.0005)
            lags.append(time.perf_counter() - t)
            time.sleep(0.05)


@contextlib.contextmanager
def sampling_lag() -> Iterator[list[float]]:
    """The lags sampled while the block runs."""
    lags: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_lag, args=(stop, lags))
    sampler.start()
    try:
        yield lags
    finally:
        stop.set()
        sampler.join()


def child(*args: str) -> dict:
    """Run this script's child mode with the replica configured; its last line of output, as JSON."""
    out = subprocess.run(
        [PY, __file__, "--child", *args], env=env_for(True), capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def lag_figures(lags: list[float]) -> str:
    xs = sorted(lags)
    return (
        f"{len(xs)} samples, p50 {statistics.median(xs) * 1000:.1f} ms, p99 {xs[int(len(xs) * 0.99)] * 1000:.1f} ms, "
        f"max {xs[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--child", choices=["charge", "chart"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "charge":
        return charge_child(args.seconds)
    if args.child == "chart":
        return chart_child(args.reads)

    print(f"load average before: {os.getloadavg()}")
    shutil.rmtree(BASE, ignore_errors=True)
    primary = ep.start(PRIMARY)
    user = ep._server_user()
    replica = None
    try:
        with psycopg.connect(ep.database_url(PRIMARY, "postgres"), autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env_for(False), check=True)
        seed = (
            "import django; django.setup()\n"
            "from accounts.models import User\n"
            "from accounts.services import organization_create\n"
            "from credits.services import credits_grant\n"
            "owner = User.objects.create_user(email='bench@replica.local', password='x')\n"
            "org = organization_create(name='Replica bench', owner=owner, slug='replica-bench')\n"
            "credits_grant(organization=org, credits=100_000_000, reason='bench')\n"
        )
        subprocess.run([PY, "-c", seed], cwd=ROOT, env=env_for(False), check=True)
        REPLICA.mkdir(parents=True)
        ep._chown(REPLICA, user)
        REPLICA.chmod(0o700)
        subprocess.run(
            [
                ep._bin("pg_basebackup"),
                "-D",
                str(REPLICA),
                "-R",
                "-X",
                "stream",
                "-h",
                str(ep.socket_dir(PRIMARY)),
                "-p",
                str(ep.PORT),
                "-U",
                ep.SUPERUSER,
            ],
            check=True,
            user=user,
        )
        for stale in REPLICA.glob(".s.PGSQL.*"):  # the primary's socket lock file, copied with its data directory
            stale.unlink()
        replica = start_replica(user)
        print(f"PostgreSQL {version}, primary and hot standby on this machine, streaming over a Unix socket")

        with sampling_lag() as lags:
            rate = child("charge", "--seconds", str(args.seconds))["messages_per_s"]
        print(f"\n1. lag while charging batches of 1,000 ({rate:,.0f} messages/s): {lag_figures(lags)}")
        print(f"   load average {os.getloadavg()[0]:.2f}")
        with sampling_lag() as idle:
            time.sleep(min(args.seconds, 5))
        print(f"   lag idle: {lag_figures(idle)}")

        chart = child("chart", "--reads", str(args.reads))
        print(
            f"\n2. usage chart (30 days, {chart['messages_in_chart']:,} messages), {args.reads} reads each, interleaved:"
            f"\n   from the replica p50 {chart['replica']['p50']:.2f} ms, p99 {chart['replica']['p99']:.2f} ms"
            f"\n   from the primary p50 {chart['primary']['p50']:.2f} ms, p99 {chart['primary']['p99']:.2f} ms"
            f"\n   the router used the replica: {chart['used_replica']}; same chart on both once caught up: "
            f"{chart['same_chart']}"
        )
        print(f"   load average {os.getloadavg()[0]:.2f}")
    finally:
        if replica is not None:
            ep.stop(replica)
        if primary is not None:
            ep.stop(primary)
        shutil.rmtree(BASE, ignore_errors=True)


if __name__ == "__main__":
    main()
