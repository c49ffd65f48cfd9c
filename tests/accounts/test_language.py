"""The per-user language preference: the browser's at sign-up, editable in settings, used at login."""

import pytest
from django.conf import settings

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_sign_up_takes_the_browsers_language(client):
    client.post(
        "/accounts/signup/",
        {
            "full_name": "Budi",
            "email": "budi@warung.id",
            "organization_name": "Warung Budi",
            "password": "a-long-enough-passphrase-2026",
        },
        HTTP_ACCEPT_LANGUAGE="id-ID,id;q=0.9,en;q=0.5",
    )
    assert User.objects.get(email="budi@warung.id").language == "id"


def test_a_language_saldo_does_not_speak_falls_back_to_english(client):
    client.post(
        "/accounts/signup/",
        {
            "full_name": "Jean",
            "email": "jean@example.fr",
            "organization_name": "Chez Jean",
            "password": "a-long-enough-passphrase-2026",
        },
        HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9",
    )
    assert User.objects.get(email="jean@example.fr").language == "en"


def test_a_member_changes_their_language_in_settings(client, member):
    client.force_login(member)
    response = client.post("/settings/", {"action": "language", "lang-language": "id"})
    assert response.status_code == 302 and response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "id"
    member.refresh_from_db()
    assert member.language == "id"
    assert client.post("/settings/", {"action": "language", "lang-language": "xx"}).status_code == 200
    member.refresh_from_db()
    assert member.language == "id"


def test_login_switches_the_pages_to_the_users_language(client, owner, password):
    owner.language = "id"
    owner.save()
    response = client.post("/accounts/login/", {"username": owner.email, "password": password})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "id"
