"""PgBouncer benchmark (not a test): single-message charges from many clients, straight to PostgreSQL and through
PgBouncer in transaction mode, in the same run.

Each client is a thread with its own Django connection charging one credit at a time through the product's
``usage_charge`` (each charge its own committed statement) for one of ``--orgs`` organizations, so clients of
different organizations never wait on each other's balance row. The clients run in ``--procs`` child processes
(Python threads share one interpreter lock, so one process would measure the GIL). Direct, every client holds its
own PostgreSQL backend; through PgBouncer (``DATABASE_POOLER=pgbouncer``, ``pool_mode = transaction``,
``default_pool_size = --pool``) they share a handful. The two are interleaved ``--rounds`` times and each round
prints charges/s, p50/p99 latency of one charge and the most PostgreSQL backends seen for the database.

Usage:  .venv/bin/python bench/pooler_bench.py [--clients 64] [--pool 8] [--seconds 8] [--rounds 2]
Needs:  PostgreSQL on 127.0.0.1:5432 (user postgres, trust), ``pgbouncer`` (apt-get install pgbouncer).
        Drops and recreates the database saldo_bench_pooler.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DB = "saldo_bench_pooler"
PG = "postgres://postgres@127.0.0.1:5432"
PY = sys.executable

PGBOUNCER_INI = """[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/users.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = {pool}
ignore_startup_parameters = extra_float_digits
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
"""


def env_for(url: str, pooler: str) -> dict:
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.credits_settings",
        DATABASE_URL=url,
        DATABASE_POOLER=pooler,
        PYTHONPATH=str(ROOT),
    )


def child(clients: int, first: int, orgs: int, seconds: float, tag: str) -> None:
    """Runs in a child process: ``clients`` threads charging for ``seconds``; prints one JSON line."""
    import django

    django.setup()
    from django.db import connection

    from accounts.models import Organization
    from credits.services import usage_charge

    organizations = list(Organization.objects.order_by("slug")[:orgs])
    connection.close()
    start = threading.Barrier(clients + 1)
    stop_at: list[float] = []
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []

    def work(n: int) -> None:
        from django.db import connection as conn

        org = organizations[(first + n) % len(organizations)]
        mine = latencies[n]
        i = 0
        conn.ensure_connection()
        start.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                i += 1
                t = time.perf_counter()
                usage_charge(organization=org, message_id=f"{tag}-{first + n}-{i}", direction="outbound")
                mine.append(time.perf_counter() - t)
        except Exception as exc:  # noqa: BLE001 - reported, the run then fails
            errors.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    stop_at.append(time.perf_counter() + 0.5 + seconds)
    start.wait()
    for t in threads:
        t.join()
    print(json.dumps({"latencies": [x for xs in latencies for x in xs], "errors": errors}))


def backends(stop: threading.Event, seen: list[int]) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        while not stop.is_set():
            (n,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'", [DB]
            ).fetchone()
            seen.append(n)
            time.sleep(0.1)


def measure(label: str, url: str, pooler: str, args, round_no: int) -> dict:
    per_proc = [args.clients // args.procs + (1 if i < args.clients % args.procs else 0) for i in range(args.procs)]
    firsts = [sum(per_proc[:i]) for i in range(args.procs)]
    stop, seen = threading.Event(), []
    sampler = threading.Thread(target=backends, args=(stop, seen))
    sampler.start()
    procs = [
        subprocess.Popen(
            [PY, __file__, "--child", str(n), str(first), str(args.orgs), str(args.seconds), f"{label}{round_no}"],
            env=env_for(url, pooler),
            stdout=subprocess.PIPE,
            text=True,
        )
        for n, first in zip(per_proc, firsts, strict=True)
    ]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    stop.set()
    sampler.join()
    latencies = sorted(x for out in outs for x in out["latencies"])
    errors = [e for out in outs for e in out["errors"]]
    if errors or any(p.returncode for p in procs):
        raise SystemExit(f"{label}: {len(errors)} errors, e.g. {errors[:3]}")
    rate = len(latencies) / args.seconds
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(
        f"  round {round_no} {label:<10} {rate:8.1f} charges/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
        f"PostgreSQL backends for the database: up to {max(seen)}   load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return {"rate": rate, "p50": p50, "p99": p99, "backends": max(seen)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--procs", type=int, default=4, help="child processes the clients are spread over")
    parser.add_argument("--orgs", type=int, default=64)
    parser.add_argument("--pool", type=int, default=8, help="PgBouncer's default_pool_size")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=6439)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        clients, first, orgs, seconds, tag = args.child
        child(int(clients), int(first), int(orgs), float(seconds), tag)
        return
    if not shutil.which("pgbouncer"):
        raise SystemExit("pgbouncer not found: apt-get install pgbouncer")

    print(f"load average before: {os.getloadavg()}")
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
        (max_connections,) = conn.execute("SHOW max_connections").fetchone()
    direct_url = f"{PG}/{DB}"
    env = env_for(direct_url, "")
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = (
        "import django; django.setup()\n"
        "from accounts.services import organization_create\n"
        "from accounts.models import User\n"
        "from credits.services import credits_grant\n"
        "owner = User.objects.create_user(email='bench@pooler.local', password='x')\n"
        f"for i in range({args.orgs}):\n"
        "    org = organization_create(name=f'Pooler {i:03d}', owner=owner, slug=f'pooler-{i:03d}')\n"
        "    credits_grant(organization=org, credits=10_000_000, reason='bench')\n"
    )
    subprocess.run([PY, "-c", setup], cwd=ROOT, env=env, check=True)

    tmp = Path(tempfile.mkdtemp(prefix="pooler-bench-"))
    (tmp / "pgbouncer.ini").write_text(PGBOUNCER_INI.format(port=args.port, dir=tmp, pool=args.pool))
    (tmp / "users.txt").write_text('"postgres" ""\n')
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        for f in tmp.iterdir():
            shutil.chown(f, "postgres")
        run_as = ["-u", "postgres"]
    subprocess.run(["pgbouncer", "-d", *run_as, str(tmp / "pgbouncer.ini")], check=True)
    pooled_url = f"postgres://postgres@127.0.0.1:{args.port}/{DB}"
    try:
        for _ in range(50):
            try:
                psycopg.connect(pooled_url).close()
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        print(
            f"\n{args.clients} clients in {args.procs} processes, {args.orgs} organizations, {args.seconds:g} s per "
            f"round; PostgreSQL max_connections {max_connections}; PgBouncer {args.pool} server connections"
        )
        results: dict[str, list[dict]] = {"direct": [], "pgbouncer": []}
        for r in range(1, args.rounds + 1):
            results["direct"].append(measure("direct", direct_url, "", args, r))
            results["pgbouncer"].append(measure("pgbouncer", pooled_url, "pgbouncer", args, r))
        best = {k: max(v, key=lambda x: x["rate"]) for k, v in results.items()}
        print(
            f"\nbest round: direct {best['direct']['rate']:.1f} charges/s on {best['direct']['backends']} backends, "
            f"PgBouncer {best['pgbouncer']['rate']:.1f} charges/s on {best['pgbouncer']['backends']} backends: "
            f"ratio {best['pgbouncer']['rate'] / best['direct']['rate']:.2f}"
        )
        check = subprocess.run(
            [PY, "manage.py", "audit_ledger"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        print(f"audit_ledger: exit {check.returncode}")
    finally:
        pid = (tmp / "pgbouncer.pid").read_text().strip() if (tmp / "pgbouncer.pid").exists() else ""
        if pid:
            subprocess.run(["kill", pid], check=False)
        time.sleep(0.3)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
