"""Outgoing events benchmark (not a test). In one run, on its own durable embedded PostgreSQL (var/postgres-events,
fsync on):

1. charging throughput, single charges through the product's service (usage_charge, one statement each,
   committed), 4 threads, for an organization with 5 webhook endpoints subscribed to every event and for one with
   none, alternately (with, without, three times; the best round of each is kept: the machine is shared), and the ratio
   (target ≥ 0.9). Every 500 charges a credit is granted (a new lot) and the threshold moved to 100 below the
   balance, so each block of 500 crosses it once: credits.low is written by the charge statement itself, with 5
   deliveries queued for the organization with endpoints (their URLs are unreachable: nothing is sent while
   charging, whatever the receivers do);
2. delivery throughput: --events events to one endpoint on a loopback receiver (ThreadingHTTPServer, answers 200
   and checks the Standard Webhooks signature of every request with the library's verifier), sent by the delivery
   service with 8 worker threads (as Celery workers would): deliveries per second.

    nice -n 10 .venv/bin/python bench/events_bench.py [--charges 4000] [--events 2000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import embedded_postgres  # noqa: E402

CLUSTER = ROOT / "var" / "postgres-events"
DB = "saldo_events_bench"
THREADS = 4
BLOCK = 500


def url() -> str:
    return embedded_postgres.database_url(CLUSTER, DB)


def prepare() -> None:
    import psycopg

    with psycopg.connect(embedded_postgres.database_url(CLUSTER, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    env = {**os.environ, "DATABASE_URL": url(), "DJANGO_SETTINGS_MODULE": "bench.events_settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


def _serve(port_value, count, bad, secret_queue) -> None:
    """The receiver, in a process of its own (it must not share the benchmark's GIL)."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    secret = {"value": ""}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

        def do_POST(self):  # noqa: N802
            if not secret["value"]:
                secret["value"] = secret_queue.get()
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                Webhook(secret["value"]).verify(body, dict(self.headers.items()))
                ok = True
            except WebhookVerificationError:
                ok = False
            with count.get_lock():
                count.value += 1
                bad.value += not ok
            self.send_response(200 if ok else 400)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_value.value = server.server_port
    server.serve_forever()


class Receiver:
    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self.port, self.count, self.bad = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
        self.secrets = ctx.Queue()
        self.process = ctx.Process(target=_serve, args=(self.port, self.count, self.bad, self.secrets), daemon=True)
        self.process.start()
        while not self.port.value:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port.value}/hooks"


def charge_round(organization, n: int, tag: str) -> float:
    """``n`` single charges from THREADS threads. Every BLOCK charges thread 0 grants one credit (a new lot: the
    next crossing is a new one) and moves the threshold to 100 below the balance, so each block crosses it once:
    one credits.low written by the charge statement (with its deliveries for the organization with endpoints)."""
    from django.db import connection

    from credits.selectors import balance_for
    from credits.services import lot_grant, usage_charge

    per_thread = n // THREADS
    errors: list[Exception] = []

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                if t == 0 and i % (BLOCK // THREADS) == 0:
                    lot_grant(organization=organization, credits=1, source="grant", reason="bench")
                    organization.low_balance_threshold = balance_for(organization) - 100
                usage_charge(organization=organization, message_id=f"{tag}-{t}-{i}", direction="outbound")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return per_thread * THREADS / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--charges", type=int, default=4000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    server = embedded_postgres.start(CLUSTER)
    try:
        prepare()
        os.environ["DATABASE_URL"] = url()
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.events_settings"
        import django

        django.setup()
        run(args)
    finally:
        if server is not None:
            embedded_postgres.stop(server)


def run(args) -> None:
    from django.db.models import Count

    from accounts.models import Organization
    from credits.services import lot_grant
    from events.models import Delivery, Event
    from events.services import delivery_attempt, endpoint_create, event_emit

    receiver = Receiver()
    with_endpoints = Organization.objects.create(name="With endpoints", slug="with")
    without = Organization.objects.create(name="Without", slug="without")
    for i in range(5):
        # Unreachable port: the charge path must not care (nothing is sent while charging; tasks are only queued).
        endpoint_create(organization=with_endpoints, url=f"http://127.0.0.1:9/hook-{i}", description=f"bench {i}")
    for org in (with_endpoints, without):
        lot_grant(organization=org, credits=(args.rounds + 1) * args.charges + 1000, source="grant", reason="bench")
        charge_round(org, 400, "warm")

    load = os.getloadavg()[0]
    rates: dict[str, list[float]] = {"with": [], "without": []}
    for r in range(args.rounds):
        rates["with"].append(charge_round(with_endpoints, args.charges, f"w{r}"))
        rates["without"].append(charge_round(without, args.charges, f"n{r}"))
    best_with, best_without = max(rates["with"]), max(rates["without"])
    written = dict(Event.objects.values_list("organization__slug").annotate(n=Count("id")).order_by())
    deliveries = Delivery.objects.filter(event__organization=with_endpoints).count()

    print(f"load average before: {load:.2f}")
    print(f"charging, {THREADS} threads, {args.charges} charges per round, best of {args.rounds} rounds:")
    print(
        f"  5 endpoints subscribed to every event: {best_with:,.0f} charges/s  (rounds {', '.join(f'{r:.0f}' for r in rates['with'])})"
    )
    print(
        f"  no endpoints:                          {best_without:,.0f} charges/s  (rounds {', '.join(f'{r:.0f}' for r in rates['without'])})"
    )
    print(f"  ratio with/without: {best_with / best_without:.3f}  (target >= 0.9)")
    print(f"  events written: {written}; deliveries queued for the 5 endpoints: {deliveries}")

    # --- delivery throughput ----------------------------------------------------------------------------------
    target = Organization.objects.create(name="Receiver", slug="receiver")
    endpoint, secret = endpoint_create(organization=target, url=receiver.url, description="loopback")
    receiver.secrets.put(secret)
    events = [event_emit(organization=target, type="credits.low", payload={"balance": i}) for i in range(args.events)]
    ids = list(Delivery.objects.filter(event__in=events).values_list("id", flat=True))

    def deliver(delivery_id) -> None:
        from django.db import connection

        delivery_attempt(delivery_id=delivery_id, leased=True)
        connection.close()

    started = time.monotonic()
    from django.db import connection

    connection.close()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(deliver, ids))
    elapsed = time.monotonic() - started
    succeeded = Delivery.objects.filter(pk__in=ids, status="succeeded").count()
    print(
        f"delivery to a loopback receiver, 8 worker threads: {len(ids)} events in {elapsed:.1f} s = "
        f"{len(ids) / elapsed:,.0f} events/s; succeeded {succeeded}, signatures verified {receiver.count.value - receiver.bad.value}"
        f"/{receiver.count.value}"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
