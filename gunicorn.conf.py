"""gunicorn's defaults for Saldo, read from the working directory (``gunicorn config.wsgi:application``, the
Procfile's ``web``); command-line flags and ``GUNICORN_CMD_ARGS`` override them.

Threaded workers: each worker process serves ``WEB_THREADS`` (2) requests at once and keeps client connections
alive between requests, so a load balancer or a gateway sending bursts of webhooks reuses its connections. Measured
with ``bench/whatsapp_bench.py --ingest-only`` (2026-12-04, 2 cores, interleaved pairs): 4 gthread workers × 2 stored
1,270 and 1,008 deliveries/s against 1,080 and 962 for 4 sync workers, and 3 × 2 stored 1,285 and 1,191 against 1,028
and 943. The number of workers is gunicorn's own ``WEB_CONCURRENCY`` (the Procfile defaults it to 4; about 2 × cores).
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "2"))
keepalive = 5  # seconds an idle client connection is kept; above most load balancers' reuse window
