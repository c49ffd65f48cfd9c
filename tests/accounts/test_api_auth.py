import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke

URL = "/api/v1/organization"


def test_it_accepts_a_valid_key_and_records_last_use(api_client, organization):
    response = api_client.get(URL)
    assert response.status_code == 200
    assert response.json() == {"id": str(organization.pk), "name": "Toko Maju", "slug": "toko-maju"}
    assert ApiKey.objects.get(organization=organization).last_used_at is not None


def test_it_answers_401_for_a_revoked_key(organization):
    key, raw = api_key_create(organization=organization)
    api_key_revoke(api_key=key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("header", ["Bearer sld_wrong", "Bearer", "Token abc", "Bearer a b"])
def test_it_answers_401_for_a_wrong_or_malformed_key(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_401_without_a_key(db):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_it_does_not_accept_a_logged_in_session_as_an_api_key(client, owner):
    client.force_login(owner)
    assert client.get(URL).status_code == 401


def test_it_serves_the_openapi_schema_and_docs(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
