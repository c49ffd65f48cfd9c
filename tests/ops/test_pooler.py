"""Behind PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer) nothing may outlive a transaction: Django's
server-side cursors are switched off. CI runs the API tests through a real PgBouncer (.ci/run)."""

from config.settings.base import database_config


def test_it_disables_server_side_cursors_behind_pgbouncer(monkeypatch):
    monkeypatch.setenv("DATABASE_POOLER", "pgbouncer")
    assert database_config("postgres://saldo@127.0.0.1:6432/saldo")["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_it_keeps_server_side_cursors_on_a_direct_connection(monkeypatch):
    monkeypatch.delenv("DATABASE_POOLER", raising=False)
    assert "DISABLE_SERVER_SIDE_CURSORS" not in database_config("postgres://saldo@127.0.0.1:5432/saldo")
