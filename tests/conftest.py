"""Fixtures named after people: ``owner``, ``member``, ``other_org_owner``, ``staff``."""

import os

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.services import api_key_create
from config import embedded_postgres
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory


def pytest_configure(config):
    # Without DATABASE_URL the tests run on the embedded throw-away cluster (config.settings.test points there):
    # start it for the session unless it is running already, and stop it afterwards if we started it.
    if not os.environ.get("DATABASE_URL") and not hasattr(config, "workerinput"):
        config.saldo_embedded_postgres = embedded_postgres.start(embedded_postgres.TEST_CLUSTER, throwaway=True)


def pytest_unconfigure(config):
    server = getattr(config, "saldo_embedded_postgres", None)
    if server is not None:
        embedded_postgres.stop(server)


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Toko Maju", slug="toko-maju")


@pytest.fixture
def owner(organization):
    return MembershipFactory(
        organization=organization, role=Membership.Role.OWNER, user__email="owner@tokomaju.id"
    ).user


@pytest.fixture
def admin_user(organization):
    return MembershipFactory(
        organization=organization, role=Membership.Role.ADMIN, user__email="admin@tokomaju.id"
    ).user


@pytest.fixture
def member(organization):
    return MembershipFactory(
        organization=organization, role=Membership.Role.MEMBER, user__email="member@tokomaju.id"
    ).user


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Lain Jaya", slug="lain-jaya")


@pytest.fixture
def other_org_owner(other_organization):
    return MembershipFactory(
        organization=other_organization, role=Membership.Role.OWNER, user__email="owner@lainjaya.id"
    ).user


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@saldo.local", is_staff=True, is_superuser=True)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def api_key(organization):
    _key, raw = api_key_create(organization=organization, name="test")
    return raw


@pytest.fixture
def api_client(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def deliver_mail_now(monkeypatch):
    """Deliver logged e-mails (billing.OutboundEmail) at once instead of after the test's never-committed
    transaction, so that ``mail.outbox`` shows them right after the call that sent them."""
    from billing.services import emails

    monkeypatch.setattr(emails, "_queue_delivery", lambda email_id: emails.email_deliver(email_id=email_id))
