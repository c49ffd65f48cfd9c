"""Fixtures named after people: ``owner``, ``member``, ``other_org_owner``, ``staff``."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.services import api_key_create
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    # Tests that rely on row locks are meaningless on SQLite: CI runs them on PostgreSQL.
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Toko Maju", slug="toko-maju")


@pytest.fixture
def owner(organization):
    return MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email="owner@tokomaju.id").user


@pytest.fixture
def admin_user(organization):
    return MembershipFactory(organization=organization, role=Membership.Role.ADMIN, user__email="admin@tokomaju.id").user


@pytest.fixture
def member(organization):
    return MembershipFactory(organization=organization, role=Membership.Role.MEMBER, user__email="member@tokomaju.id").user


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
def is_postgres():
    return connection.vendor == "postgresql"
