"""Only reads wrapped in core.db.lag_tolerant() go to the read replica, never inside a transaction on the primary,
never writes, and nothing at all without DATABASE_REPLICA_URL."""

import pytest
from django.db import transaction

from config.db_routers import LagTolerantReplicaRouter
from core.db import lag_tolerant
from credits.models import UsageDay

router = LagTolerantReplicaRouter()


@pytest.fixture
def replica_configured(settings):
    settings.DATABASES = {**settings.DATABASES, "replica": dict(settings.DATABASES["default"])}


def test_lag_tolerant_reads_go_to_the_replica(replica_configured):
    assert router.db_for_read(UsageDay) is None
    with lag_tolerant():
        assert router.db_for_read(UsageDay) == "replica"
        assert router.db_for_write(UsageDay) is None
    assert router.db_for_read(UsageDay) is None


@pytest.mark.django_db(transaction=True)
def test_a_read_inside_a_transaction_stays_on_the_primary(replica_configured):
    with transaction.atomic(), lag_tolerant():
        assert router.db_for_read(UsageDay) is None


def test_nothing_changes_without_a_replica():
    with lag_tolerant():
        assert router.db_for_read(UsageDay) is None


def test_the_replica_is_never_migrated():
    assert router.allow_migrate("replica", "credits") is False
    assert router.allow_migrate("default", "credits") is True
