"""API authentication: ``Authorization: Bearer <api key>`` identifies one organization."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from django.db import connections
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from .models import ApiKey, Organization, hash_api_key

# Writing last_used_at on every call would add a write to the hot path; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiClient:
    """The authenticated caller of the API: an organization acting through an API key."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.organization = api_key.organization

    def __str__(self) -> str:
        return f"api:{self.api_key.prefix}"


@cache
def _auth_sql() -> tuple[str, list[str], list[str]]:
    key_cols = [f.column for f in ApiKey._meta.concrete_fields]
    org_cols = [f.column for f in Organization._meta.concrete_fields]
    select = ", ".join([f"k.{c}" for c in key_cols] + [f"o.{c}" for c in org_cols])
    # Only model metadata is interpolated; the key hash is a bound parameter.
    sql = (
        f"SELECT {select} FROM {ApiKey._meta.db_table} k "  # noqa: S608
        f"JOIN {Organization._meta.db_table} o ON o.id = k.organization_id "
        "WHERE k.key_hash = %s AND k.revoked_at IS NULL"
    )
    return (
        sql,
        [f.attname for f in ApiKey._meta.concrete_fields],
        [f.attname for f in Organization._meta.concrete_fields],
    )


def _active_key(key_hash: str) -> ApiKey | None:
    """The active key with its organization, in one indexed query. Written as SQL because this runs on every
    API call (the chatbot's hot path) and building the equivalent ORM query cost more than running it."""
    conn = connections[ApiKey.objects.db]
    if conn.vendor != "postgresql":  # other databases need Django's value converters: use the ORM
        return ApiKey.objects.select_related("organization").filter(key_hash=key_hash, revoked_at__isnull=True).first()
    sql, key_names, org_names = _auth_sql()
    with conn.cursor() as cursor:
        cursor.execute(sql, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = ApiKey.from_db(conn.alias, key_names, row[: len(key_names)])
    api_key.organization = Organization.from_db(conn.alias, org_names, row[len(key_names) :])
    return api_key


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed API key.") from exc
        api_key = _active_key(hash_api_key(raw))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        request.organization = api_key.organization
        return ApiClient(api_key), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasOrganizationApiKey(BasePermission):
    message = "A valid API key is required."

    def has_permission(self, request, view):
        return isinstance(request.user, ApiClient)


class ApiSuspended(exceptions.PermissionDenied):
    default_detail = "API access for this organization is suspended. Contact support."
    default_code = "api_suspended"


class ApiNotSuspended(BasePermission):
    """In DEFAULT_PERMISSION_CLASSES after :class:`HasOrganizationApiKey`: while staff have suspended an
    organization's API access (``accounts.services.organization_api_access_set``), every call its keys make,
    reads included, answers 403 ``{"error": "api_suspended"}``."""

    def has_permission(self, request, view):
        if isinstance(request.user, ApiClient) and request.user.organization.api_suspended:
            raise ApiSuspended()
        return True
