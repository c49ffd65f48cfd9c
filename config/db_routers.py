"""Database routing: the primary for everything, the read replica (``DATABASE_REPLICA_URL``) for reads made inside
``core.db.lag_tolerant()`` and outside a transaction on the primary (a read inside one belongs to that transaction)."""

from __future__ import annotations

from django.conf import settings
from django.db import connections

from core.db import REPLICA, reading_lag_tolerant


class LagTolerantReplicaRouter:
    def db_for_read(self, model, **hints):
        if REPLICA in settings.DATABASES and reading_lag_tolerant() and not connections["default"].in_atomic_block:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, streamed: the replica holds the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA
