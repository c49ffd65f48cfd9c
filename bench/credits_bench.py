"""Credits benchmark (not a test): gunicorn with 4 workers on a throwaway PostgreSQL database, wrk on localhost.

Measures, in one run:
  1. single-message charging through the real API (POST /api/v1/usage/messages) vs a baseline view doing
     one raw-SQL locked update + one insert: throughput, p50/p99 latency and the ratio;
  2. batch charging (POST /api/v1/usage/messages/batch, 1,000 messages per request): messages/s;
  3. balance read latency (GET /api/v1/credits/balance) with 1,000 vs 1,000,000 ledger rows.

Usage:  .venv/bin/python bench/credits_bench.py [--seconds 10] [--port 8765]
Needs:  PostgreSQL on 127.0.0.1:5432 (user postgres), `wrk` (apt-get install wrk). Drops and recreates the
        database saldo_bench_credits. Bounded: about 8 × (--seconds + 2) seconds of load plus setup.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DB = os.environ.get("SALDO_BENCH_DB", "saldo_bench_credits")
PG = "postgres://postgres@127.0.0.1:5432"
PY = sys.executable

SINGLE_LUA = r"""
-- setup() runs in the main Lua state, init()/request() in each thread's own state: "tid" is set per thread.
next_tid = 0
local counter = 0
function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end
function init(args)
  prefix = args[1] .. "-" .. tid .. "-"
end
request = function()
  counter = counter + 1
  local body = '{"message_id":"' .. prefix .. counter .. '","direction":"outbound"}'
  return wrk.format("POST", nil, nil, body)
end
"""

BATCH_LUA = r"""
-- setup() runs in the main Lua state, init()/request() in each thread's own state: "tid" is set per thread.
next_tid = 0
local counter = 0
function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end
function init(args)
  prefix = args[1] .. "-" .. tid .. "-"
end
request = function()
  local parts = {}
  for i = 1, 1000 do
    counter = counter + 1
    parts[i] = '{"message_id":"' .. prefix .. counter .. '","direction":"inbound"}'
  end
  return wrk.format("POST", nil, nil, '{"messages":[' .. table.concat(parts, ",") .. ']}')
end
"""


def sh(*args, env=None, check=True, capture=False):
    return subprocess.run(args, cwd=ROOT, env=env, check=check, text=True, capture_output=capture)


def recreate_db():
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")


def setup_data(env) -> dict:
    code = r"""
import django, json
django.setup()
from datetime import timedelta
from django.db import connection
from django.utils import timezone
from accounts.models import Organization
from accounts.services import api_key_create
from credits.services import lot_grant
keys = {}
for slug in ("bench-charge", "bench-small", "bench-large"):
    org = Organization.objects.create(name=slug, slug=slug)
    keys[slug] = api_key_create(organization=org, name="bench")[1]
    credits = 50_000_000 if slug == "bench-charge" else 1_000
    lot_grant(organization=org, credits=credits, source="grant", reason="bench")
# Ledger history: 1,000 rows for one organization, 1,000,000 for the other (+ 1 grant each above),
# alternating -1/+1 so the ledger still sums to the balance and audit_ledger stays meaningful.
with connection.cursor() as c:
    for slug, n in (("bench-small", 1_000), ("bench-large", 1_000_000)):
        org = Organization.objects.get(slug=slug)
        c.execute('''
            INSERT INTO credits_ledgerentry (organization_id, kind, delta, balance_after, reference, reason, created_at)
            SELECT %s, CASE WHEN g %% 2 = 0 THEN 'adjustment' ELSE 'usage' END, CASE WHEN g %% 2 = 0 THEN 1 ELSE -1 END,
                   1000, 'hist-' || g, '', now() - interval '1 second' * g FROM generate_series(1, %s) g
        ''', [org.pk, n])
        c.execute('''
            INSERT INTO credits_messageusage (organization_id, message_id, direction, charged_at, credits, spendable_after)
            SELECT %s, 'hist-' || g, 'inbound', now() - interval '1 second' * g, 1, 1000 FROM generate_series(1, %s) g
        ''', [org.pk, n])
    c.execute("CREATE TABLE bench_baseline_balance (id int PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0))")
    c.execute("INSERT INTO bench_baseline_balance VALUES (1, 50000000)")
    c.execute('''CREATE TABLE bench_baseline_usage (id bigserial PRIMARY KEY, message_id varchar(128) NOT NULL UNIQUE,
                 direction varchar(8) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())''')
    c.execute("ANALYZE")
print("KEYS=" + json.dumps(keys))
"""
    out = sh(PY, "-c", code, env=env, capture=True).stdout
    import json

    return json.loads(re.search(r"KEYS=(.*)", out).group(1))


def wrk(url, *, seconds, conns, key=None, lua=None, tag="x"):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if key:
        cmd += ["-H", f"Authorization: Bearer {key}"]
    cmd += ["-H", "Content-Type: application/json"]
    script = None
    if lua:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(lua)
        script.close()
        cmd += ["-s", script.name]
    cmd += [url]
    if lua:
        cmd += ["--", tag]
    out = subprocess.run(cmd, text=True, capture_output=True, check=True).stdout
    if script:
        os.unlink(script.name)
    return parse_wrk(out)


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def parse_wrk(out: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(re.search(rf"\s{p}%\s+(\S+)", out).group(1)) for p in ("50", "99")}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50": lat["50"],
        "p99": lat["99"],
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def settle():
    """VACUUM ANALYZE and CHECKPOINT the bench database, so a phase does not pay for the one before it."""
    for sql in ("VACUUM ANALYZE", "CHECKPOINT"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-qc", sql], check=True)


@contextlib.contextmanager
def gunicorn(env, args):
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            str(Path(PY).parent / "gunicorn"),
            "config.wsgi:application",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                subprocess.run(["curl", "-sf", "-o", "/dev/null", f"{base}/healthz"], check=True, timeout=2)
                break
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(20)


def charges(base, keys, s) -> dict:
    """Single charges (API and baseline, back to back, best of two rounds after a warm-up) and batches."""
    results: dict = {}
    wrk(f"{base}/bench/baseline", seconds=2, conns=8, lua=SINGLE_LUA, tag=f"wb{time.monotonic_ns()}")
    wrk(
        f"{base}/api/v1/usage/messages",
        seconds=2,
        conns=8,
        key=keys["bench-charge"],
        lua=SINGLE_LUA,
        tag=f"wa{time.monotonic_ns()}",
    )
    for rnd in (1, 2):
        for name, url, key in (
            ("baseline", f"{base}/bench/baseline", None),
            ("api", f"{base}/api/v1/usage/messages", keys["bench-charge"]),
        ):
            r = wrk(url, seconds=s, conns=8, key=key, lua=SINGLE_LUA, tag=f"{name}{rnd}{time.monotonic_ns()}")
            if name not in results or r["rps"] > results[name]["rps"]:
                results[name] = r
    # The single-charge rounds leave dirty pages and dead tuples behind; start the batch phase from a
    # checkpoint so it is not measuring the previous phase's write-back.
    settle()
    key = keys["bench-charge"]
    wrk(
        f"{base}/api/v1/usage/messages/batch",
        seconds=2,
        conns=4,
        key=key,
        lua=BATCH_LUA,
        tag=f"wbatch{time.monotonic_ns()}",
    )
    results["batch"] = wrk(
        f"{base}/api/v1/usage/messages/batch",
        seconds=s,
        conns=4,
        key=key,
        lua=BATCH_LUA,
        tag=f"batch{time.monotonic_ns()}",
    )
    return results


def batch_runs(base, key, seconds, runs) -> None:
    """Consecutive runs of batches of 1,000 (4 connections), each printed with the load average before it."""
    url = f"{base}/api/v1/usage/messages/batch"
    wrk(url, seconds=2, conns=4, key=key, lua=BATCH_LUA, tag=f"warm{time.monotonic_ns()}")
    for n in range(1, runs + 1):
        load = os.getloadavg()
        r = wrk(url, seconds=seconds, conns=4, key=key, lua=BATCH_LUA, tag=f"run{n}-{time.monotonic_ns()}")
        print(
            f"batch run {n}: {r['rps'] * 1000:8.0f} msg/s ({r['rps']:.1f} req/s, p50 {r['p50']:.0f} ms, "
            f"p99 {r['p99']:.0f} ms, non-2xx {r['non2xx']})  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--compare-stacks",
        action="store_true",
        help="also measure charges with a three-middleware stack (bench/credits_settings_short.py, not the product)",
    )
    parser.add_argument(
        "--batch-runs",
        type=int,
        default=0,
        help="only batches: this many consecutive runs of --seconds each (after one warm-up), each with its load average",
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        "DJANGO_SETTINGS_MODULE": "bench.credits_settings",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    print(f"Setting up {DB} (1,000,000 ledger rows take a little while)…", flush=True)
    recreate_db()
    sh(PY, "manage.py", "migrate", "-v0", env=env)
    keys = setup_data(env)

    base = f"http://127.0.0.1:{args.port}"
    with gunicorn(env, args) as _server:
        settle()  # the 1,000,000 history rows were just written: flush them before measuring anything
        s = args.seconds
        if args.batch_runs:
            batch_runs(base, keys["bench-charge"], s, args.batch_runs)
            return
        results = charges(base, keys, s)
        for slug in ("bench-small", "bench-large"):
            wrk(f"{base}/api/v1/credits/balance", seconds=2, conns=4, key=keys[slug])
            results[slug] = wrk(f"{base}/api/v1/credits/balance", seconds=s, conns=4, key=keys[slug])
    short = None
    if args.compare_stacks:
        settle()
        with gunicorn({**env, "DJANGO_SETTINGS_MODULE": "bench.credits_settings_short"}, args):
            short = charges(base, keys, args.seconds)
    # Check the money path stayed exact under load.
    audit = sh(PY, "manage.py", "audit_ledger", env=env, check=False, capture=True)

    api, basel, batch = results["api"], results["baseline"], results["batch"]
    small, large = results["bench-small"], results["bench-large"]
    print()
    print(
        f"Single charge, baseline (1 locked UPDATE + 1 INSERT): {basel['rps']:8.0f} req/s  p50 {basel['p50']:.1f} ms  p99 {basel['p99']:.1f} ms  non-2xx {basel['non2xx']}"
    )
    print(
        f"Single charge, POST /api/v1/usage/messages:          {api['rps']:8.0f} req/s  p50 {api['p50']:.1f} ms  p99 {api['p99']:.1f} ms  non-2xx {api['non2xx']}"
    )
    print(f"  ratio API / baseline: {api['rps'] / basel['rps']:.2f}   (target ≥ 0.6, ≥ 600 msg/s, p99 < 50 ms)")
    print(
        f"Batch of 1,000, POST /api/v1/usage/messages/batch:   {batch['rps'] * 1000:8.0f} msg/s ({batch['rps']:.1f} req/s, p99 {batch['p99']:.1f} ms, non-2xx {batch['non2xx']})  (target ≥ 20,000)"
    )
    print(
        f"Balance read, 1,000 ledger rows:     p50 {small['p50']:.2f} ms  p99 {small['p99']:.2f} ms  ({small['rps']:.0f} req/s)"
    )
    print(
        f"Balance read, 1,000,000 ledger rows: p50 {large['p50']:.2f} ms  p99 {large['p99']:.2f} ms  ({large['rps']:.0f} req/s)"
    )
    print(f"  ratio 1M / 1k (p50): {large['p50'] / small['p50']:.2f}   (target ≤ 1.5)")
    if short is not None:
        sa, sb, sbatch = short["api"], short["baseline"], short["batch"]
        # Each stack is judged against its own baseline, measured right beside it: the machine's load can change
        # between phases (other processes), so absolute figures of two phases are not comparable, ratios are.
        print("Same run, three-middleware stack (bench/credits_settings_short.py, not the product):")
        print(
            f"  single charge {sa['rps']:8.0f} req/s, p99 {sa['p99']:.1f} ms; its baseline {sb['rps']:.0f} req/s; "
            f"ratio API / baseline {sa['rps'] / sb['rps']:.2f} (product stack: {api['rps'] / basel['rps']:.2f})"
        )
        print(
            f"  batch {sbatch['rps'] * 1000:8.0f} msg/s, {sbatch['rps'] * 1000 / sb['rps']:.1f} msg per baseline "
            f"charge (product stack: {batch['rps'] * 1000 / basel['rps']:.1f})"
        )
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"audit_ledger after the run: exit {audit.returncode}: {audit.stdout.strip().splitlines()[-1] if audit.stdout.strip() else audit.stderr.strip()[-200:]}"
    )


if __name__ == "__main__":
    main()
