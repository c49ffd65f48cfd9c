"""The organization search in the staff console goes through the trigram indexes (accounts migration 0006):
the admin's own query, EXPLAINed, uses one index per searched column instead of reading the whole table."""

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.test import RequestFactory

from accounts.models import Organization
from tests.factories import OrganizationFactory

pytestmark = [pytest.mark.django_db]

INDEXES = [
    "org_name_trgm_idx",
    "org_slug_trgm_idx",
    "org_legal_name_trgm_idx",
    "org_npwp_trgm_idx",
    "org_invoice_email_trgm_idx",
]


def _search_queryset(staff, term):
    request = RequestFactory().get("/admin/accounts/organization/", {"q": term})
    request.user = staff
    changelist = site._registry[Organization].get_changelist_instance(request)
    return changelist.get_queryset(request)


def test_the_admin_search_is_served_by_one_trigram_index_per_column(staff):
    for i in range(30):
        OrganizationFactory(name=f"Toko {i}", npwp=f"01.234.567.8-{i:03d}.000")
    sql, params = _search_queryset(staff, "toko").query.sql_with_params()
    with connection.cursor() as cursor:
        # On a 30-row table any plan is cheap: leave the planner only bitmap scans, then see which indexes serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in INDEXES:
        assert index in plan, plan
    assert "Seq Scan on accounts_organization" not in plan


def test_the_search_still_finds_by_any_column(staff):
    wanted = OrganizationFactory(name="Warung Sejahtera", npwp="09.876.543.2-111.000", invoice_email="kas@warung.id")
    OrganizationFactory(name="Lain Lagi")
    for term in ("sejahtera", "543.2-111", "KAS@WARUNG", wanted.slug):
        assert list(_search_queryset(staff, term)) == [wanted], term


def test_a_database_that_refuses_the_extension_gets_a_warning_not_a_failed_migration(monkeypatch):
    import importlib

    from django.db import DatabaseError

    migration = importlib.import_module("accounts.migrations.0006_organization_search_trigram")
    executed = []

    class RefusingEditor:
        def __init__(self):
            self.connection = connection

        def execute(self, sql):
            executed.append(sql)
            if "CREATE EXTENSION" in sql:
                raise DatabaseError("permission denied to create extension")

    warnings = []
    monkeypatch.setattr(migration.logger, "warning", lambda message, *args: warnings.append(message % args))
    migration.forwards(None, RefusingEditor())
    assert executed == ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]  # no index is attempted
    assert len(warnings) == 1 and "pg_trgm is not available" in warnings[0]
    with connection.cursor() as cursor:  # the savepoint kept the test's transaction usable
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
