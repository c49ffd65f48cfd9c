"""Reads that may be served by a read replica (``DATABASE_REPLICA_URL``): only those wrapped in :func:`lag_tolerant`.

A replica lags the primary by a little (usually well under a second, more under load or after a failover), so only
reads whose user accepts a slightly old picture go there: the dashboard's usage chart and the staff console's figures.
Balances, charges, locks, anything read to decide a write, and the page shown right after a write stay on the primary.
``config.db_routers.LagTolerantReplicaRouter`` reads the flag; without a replica configured it changes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

REPLICA = "replica"
_lag_tolerant: ContextVar[bool] = ContextVar("saldo_lag_tolerant", default=False)


@contextlib.contextmanager
def lag_tolerant() -> Iterator[None]:
    token = _lag_tolerant.set(True)
    try:
        yield
    finally:
        _lag_tolerant.reset(token)


def reading_lag_tolerant() -> bool:
    return _lag_tolerant.get()
