"""Staff in each role: a staff user in the Finance, Support or Superuser group (the groups come from the
accounts migration), and clients logged in as them."""

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory


def _role_user(email: str, role: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def finance(db):
    return _role_user("finance@saldo.local", "Finance")


@pytest.fixture
def support(db):
    return _role_user("support@saldo.local", "Support")


@pytest.fixture
def back_office(db):
    return _role_user("backoffice@saldo.local", "Superuser")


@pytest.fixture
def login_as(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
