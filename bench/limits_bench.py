"""What the request limits (core/limits.py) cost the usage API: the JSON check on a single message (the hot path:
no parse) and on a batch of 1,000 messages (parsed once, containers walked). Prints microseconds per body.

    .venv/bin/python bench/limits_bench.py
"""

import json
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.limits import json_body_problem  # noqa: E402

single = json.dumps(
    {"message_id": "wamid.HBgM123", "direction": "outbound", "occurred_at": "2025-07-01T10:00:00+07:00"}
)
batch = json.dumps({"messages": [{"message_id": f"wamid.{i:040d}", "direction": "outbound"} for i in range(1000)]})
for name, body, rounds in (("single message", single.encode(), 20_000), ("batch of 1,000", batch.encode(), 200)):
    check = min(timeit.repeat(lambda b=body: json_body_problem(b), number=rounds, repeat=3)) / rounds
    parse = min(timeit.repeat(lambda b=body: json.loads(b), number=rounds, repeat=3)) / rounds
    print(f"limits check, {name} ({len(body):,} bytes): {check * 1e6:.1f} µs (json.loads alone: {parse * 1e6:.1f} µs)")
