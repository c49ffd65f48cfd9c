"""The roles migration on its own (not the post_migrate sync): from the state before it, migrating forward
creates the three groups with their permissions; migrating back removes them."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0003_job_heartbeat")]
ROLES = ("accounts", "0004_staff_roles")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def test_the_migration_creates_and_removes_the_role_groups():
    # Every app's leaves: going back to accounts 0003 also unapplies other apps' migrations that depend on
    # accounts 0004 (and whatever depends on those), which must all come back for the tests that follow.
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate(BEFORE)
        assert not Group.objects.filter(name__in=["Finance", "Support", "Superuser"]).exists()
        migrate([ROLES])
        finance = Group.objects.get(name="Finance")
        assert finance.permissions.filter(codename="change_purchasereview").exists()
        assert not Group.objects.get(name="Support").permissions.filter(codename="add_creditlot").exists()
        assert Group.objects.get(name="Superuser").permissions.count() > finance.permissions.count()
    finally:
        migrate(latest)
