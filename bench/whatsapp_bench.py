"""WhatsApp benchmark (not a test): webhook ingestion through gunicorn, then the rating worker.

Measures, in one run:
  1. ingestion: wrk POSTs signed status deliveries (one status each, unique wamids, pre-signed with HMAC-SHA256)
     to POST /webhooks/whatsapp on gunicorn; every accepted one is verified, stored raw under its sha256 key
     and (coalesced) queued. Figure: deliveries stored per second, counted in the database afterwards.
  2. rating worker: the stored deliveries are rated by ``events_process_pending`` (the task's code: batches
     of 500 events, SKIP LOCKED, set-based merge/insert/update) in 1 process and then, on a fresh copy of the
     same backlog, in 2 processes at once. Figure: statuses rated per second.

Usage:  .venv/bin/python bench/whatsapp_bench.py [--seconds 8] [--workers 3] [--conns 16] [--port 8766]
Needs:  PostgreSQL on 127.0.0.1:5432 (user postgres), Redis on 127.0.0.1:6379 (db 4), `wrk`; or set
        BENCH_PG (server URL without a database, e.g. the embedded cluster's socket URL) and BENCH_REDIS.
        The run reports PostgreSQL's deadlock counter for the bench databases (must stay 0) and the failed events.
        Drops and recreates the database saldo_bench_whatsapp. Bounded: --seconds of load (+2 s warm-up),
        then the rating of what was stored (capped by --max-deliveries pre-signed bodies).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DB = "saldo_bench_whatsapp"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/4")
PY = sys.executable
SECRET = b"bench-app-secret"
PNID, WABA = "100200300400500", "900800700600500"

LUA = r"""
next_tid = 0
function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end
function init(args)
  lines = {}
  local n, i = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    i = i + 1
    if i % n == tid - 1 then lines[#lines + 1] = line end
  end
  idx = 0
end
request = function()
  idx = idx + 1
  local line = lines[idx] or lines[#lines]
  local tab = line:find("\t", 1, true)
  return wrk.format("POST", "/webhooks/whatsapp",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = line:sub(1, tab - 1)}, line:sub(tab + 1))
end
"""


def sh(*args, env=None, check=True, capture=False):
    return subprocess.run(args, cwd=ROOT, env=env, check=check, text=True, capture_output=capture)


def recreate_db(name: str, template: str | None = None):
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))


def bodies(n: int, path: Path) -> None:
    """n signed deliveries: PMP statuses (sent, delivered, read) of n/3 messages to Indonesian numbers."""
    start = 1751500000  # July 2025, per-message pricing
    categories = ["marketing", "utility", "authentication", "service"]
    with path.open("w") as out:
        for i in range(n):
            msg, step = divmod(i, 3)
            status = ("sent", "delivered", "read")[step]
            category = categories[msg % 4]
            entry = {
                "id": f"wamid.bench.{msg:08d}",
                "status": status,
                "timestamp": str(start + msg + step),
                "recipient_id": f"62812{msg % 10_000_000:07d}",
            }
            if status != "read":
                entry["pricing"] = {
                    "billable": category != "service",
                    "pricing_model": "PMP",
                    "category": category,
                    "type": "free_customer_service" if category == "service" else "regular",
                }
            payload = {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": WABA,
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {"display_phone_number": "6281100000000", "phone_number_id": PNID},
                                    "statuses": [entry],
                                },
                            }
                        ],
                    }
                ],
            }
            body = json.dumps(payload, separators=(",", ":"))
            sig = "sha256=" + hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()
            out.write(f"{sig}\t{body}\n")


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(parent: int) -> float:
    """CPU seconds of a process and its children (gunicorn's master and workers)."""
    pids = [parent]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return sum(_proc_cpu(pid) for pid in pids)


def cpu_seconds_of(name: str, database: str | None = None) -> float:
    """CPU seconds of the processes called ``name``; for PostgreSQL only the backends serving ``database``
    (other people's databases on the same server are not ours to count)."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != name:
                continue
            if database and f" {database} " not in (comm.parent / "cmdline").read_bytes().decode(errors="replace"):
                continue
            total += _proc_cpu(int(comm.parent.name))
        except OSError:
            continue
    return total


def wait_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer at {url}")


def parse_wrk(out: str) -> dict:
    def grab(pattern, cast=float, default=None):
        m = re.search(pattern, out)
        return cast(m.group(1)) if m else default

    return {
        "requests": grab(r"(\d+) requests in", int, 0),
        "rps": grab(r"Requests/sec:\s+([\d.]+)"),
        "p50": re.search(r"50%\s+(\S+)", out).group(1) if "50%" in out else "?",
        "p99": re.search(r"99%\s+(\S+)", out).group(1) if "99%" in out else "?",
        "non2xx": grab(r"Non-2xx or 3xx responses: (\d+)", int, 0),
        "errors": grab(r"Socket errors: (.*)", str, "none"),
    }


RATE = r"""
import django, json, sys, time
django.setup()
from django.db import connection
from conversations.services import events_process_pending
t = time.perf_counter()
n = events_process_pending(max_batches=10_000)
elapsed = time.perf_counter() - t
with connection.cursor() as c:
    c.execute("SELECT coalesce(sum(statuses_count), 0) FROM conversations_webhookevent WHERE processed_at IS NOT NULL")
print("RATED=" + json.dumps({"events": n, "seconds": elapsed}))
"""

COUNTS = r"""
import django, json
django.setup()
from conversations.models import ChargeCorrection, Conversation, MessageStatus, WebhookEvent
from conversations.selectors import month_summary
from accounts.models import Organization
from datetime import date
from django.db import connection
org = Organization.objects.get(slug="bench-wa")
with connection.cursor() as c:
    c.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
    deadlocks = c.fetchone()[0]
print("COUNTS=" + json.dumps({
    "deadlocks": deadlocks,
    "corrections": ChargeCorrection.objects.count(),
    "events": WebhookEvent.objects.count(),
    "waiting": WebhookEvent.objects.filter(status="received").count(),
    "failed": WebhookEvent.objects.filter(status="failed").count(),
    "statuses": MessageStatus.objects.count(),
    "conversations": Conversation.objects.count(),
    "total_amount": month_summary(organization=org, month=date(2025, 7, 1))["total_amount"],
}))
"""


def django_py(code: str, env) -> dict:
    out = sh(PY, "-c", code, env=env, capture=True).stdout
    key, value = re.search(r"^([A-Z]+)=(.*)$", out, re.M).groups()
    return json.loads(value)


def ingest(args, env, lua, warm, data, app, title, rewarm=False):
    if rewarm:  # the measured bodies were stored by the first run: use fresh ids
        for path in (warm, data):
            text = path.read_text().replace("wamid.", "wamid.fp.")
            with path.open("w") as dst:
                for line in text.splitlines():
                    body = line.split("\t", 1)[1]
                    sig = "sha256=" + hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()
                    dst.write(f"{sig}\t{body}\n")
    gunicorn = subprocess.Popen(
        [
            str(Path(PY).parent / "gunicorn"),
            app,
            "-w",
            str(args.workers),
            "-k",
            args.worker_class,
            "--threads",
            str(args.threads),
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            "--keep-alive",
            "30",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_up(f"{base}/healthz")
        wrk_cmd = ["wrk", "-t2", f"-c{args.conns}", "--latency", "--timeout", "5s", "-s", str(lua), base]
        sh(*wrk_cmd[:1], "-d2s", *wrk_cmd[1:], "--", str(warm), "2", capture=True)
        with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
            before = conn.execute("SELECT count(*) FROM conversations_webhookevent").fetchone()[0]
        cpu_before = cpu_seconds(gunicorn.pid), cpu_seconds_of("postgres", DB), cpu_seconds_of("redis-server")
        out = sh(*wrk_cmd[:1], f"-d{args.seconds}s", *wrk_cmd[1:], "--", str(data), "2", capture=True).stdout
        result = parse_wrk(out)
        cpu_after = cpu_seconds(gunicorn.pid), cpu_seconds_of("postgres", DB), cpu_seconds_of("redis-server")
        with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
            after = conn.execute("SELECT count(*) FROM conversations_webhookevent").fetchone()[0]
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    stored = after - before
    print(
        f"\n{title} (gunicorn -w {args.workers} {args.worker_class} x{args.threads}, wrk -t2 -c{args.conns}, "
        f"{args.seconds}s): {result['requests']} requests, {result['rps']:.0f} req/s, p50 {result['p50']}, "
        f"p99 {result['p99']}, non-2xx {result['non2xx']}, socket errors {result['errors']}"
    )
    print(
        f"   stored (verified, unique, queued): {stored} deliveries = {stored / args.seconds:.0f} deliveries/s"
        + ("  [bodies ran out: raise --max-deliveries]" if result["requests"] > args.max_deliveries else "")
    )
    cpu = [b - a for a, b in zip(cpu_before, cpu_after, strict=True)]
    n = max(result["requests"], 1)
    print(
        f"   CPU per request: gunicorn {cpu[0] / n * 1000:.2f} ms, PostgreSQL backends {cpu[1] / n * 1000:.2f} ms, "
        f"Redis {cpu[2] / n * 1000:.2f} ms; CPU used {sum(cpu) / args.seconds:.2f} of 2 cores "
        f"(the rest: wrk, WAL writer, other people's work)"
    )
    print(f"   load average after: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument(
        "--fast-path",
        action="store_true",
        help="also measure ingestion with bench/whatsapp_wsgi.py (webhook without middleware)",
    )
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--ingest-only", action="store_true", help="measure ingestion only (no rating runs)")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--max-deliveries", type=int, default=60_000)
    args = parser.parse_args()

    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.whatsapp_settings",
        DATABASE_URL=f"{PG}/{DB}",
        REDIS_URL=REDIS,
        PYTHONPATH=str(ROOT),
    )
    print(f"load average before: {os.getloadavg()}")
    recreate_db(DB)
    sh(PY, "manage.py", "migrate", "-v0", env=env)
    sh(PY, "manage.py", "create_org", "--name", "Bench WA", "--owner-email", "bench@wa.local", env=env, capture=True)
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        slug = conn.execute("SELECT slug FROM accounts_organization").fetchone()[0]
        conn.execute("UPDATE accounts_organization SET slug = 'bench-wa' WHERE slug = %s", [slug])
    sh(
        PY,
        "manage.py",
        "add_whatsapp_number",
        "--org",
        "bench-wa",
        "--phone-number-id",
        PNID,
        "--waba-id",
        WABA,
        "--display-number",
        "+62 811 0000 0000",
        env=env,
        capture=True,
    )

    tmp = Path(tempfile.mkdtemp(prefix="wa-bench-"))
    data, lua = tmp / "bodies.tsv", tmp / "post.lua"
    bodies(args.max_deliveries, data)
    lua.write_text(LUA)
    # Warm-up bodies are separate so they do not use up the measured ones.
    warm = tmp / "warm.tsv"
    bodies_warm = [line.replace("wamid.bench.", "wamid.warm.") for line in data.open().readlines()[:3000]]
    # Signatures cover the body, so warm-up bodies are re-signed.
    with warm.open("w") as dst:
        for line in bodies_warm:
            body = line.split("\t", 1)[1].rstrip("\n")
            sig = "sha256=" + hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()
            dst.write(f"{sig}\t{body}\n")

    ingest(args, env, lua, warm, data, "config.wsgi:application", "1. Ingestion")
    if args.fast_path:
        ingest(
            args,
            env,
            lua,
            warm,
            data,
            "bench.whatsapp_wsgi:application",
            "1b. Same, webhook without Django middleware (bench/whatsapp_wsgi.py, not the product)",
            rewarm=True,
        )

    # Throw away the coalesced tasks: no worker ran, the rating is measured below on the same backlog.
    sh("redis-cli", "-u", REDIS, "DEL", "celery", check=False, capture=True)
    if args.ingest_only:
        return
    # Keep a copy of the unrated backlog for the 2-process run.
    copy_db = DB + "_copy"
    recreate_db(copy_db, template=DB)

    rated = django_py(RATE, env)
    counts = django_py(COUNTS, env)
    statuses = counts["events"]  # one status per delivery
    print(
        f"\n2. Rating worker, 1 process: {rated['events']} deliveries ({statuses} statuses) in "
        f"{rated['seconds']:.2f}s = {statuses / rated['seconds']:.0f} statuses/s"
    )
    print(f"   result: {counts}")

    env2 = dict(env, DATABASE_URL=f"{PG}/{copy_db}")
    t = time.perf_counter()
    procs = [
        subprocess.Popen([PY, "-c", RATE], cwd=ROOT, env=env2, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate()[0] for p in procs]
    elapsed = time.perf_counter() - t
    counts2 = django_py(COUNTS, env2)
    per = [json.loads(re.search(r"RATED=(.*)", o).group(1)) for o in outs]
    print(
        f"   2 processes at once (SKIP LOCKED): {sum(p['events'] for p in per)} deliveries in {elapsed:.2f}s "
        f"wall (including 2 interpreter starts) = {counts2['events'] / max(p['seconds'] for p in per):.0f} "
        f"statuses/s over the slower worker's processing time"
    )
    print(
        f"   result: {counts2}  (identical totals: {counts2['total_amount'] == counts['total_amount'] and counts2['conversations'] == counts['conversations']})"
    )
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {copy_db} WITH (FORCE)")


if __name__ == "__main__":
    main()
