"""API authentication: ``Authorization: Bearer <api key>`` identifies one organization."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from .models import ApiKey, hash_api_key

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
        api_key = (
            ApiKey.objects.select_related("organization")
            .filter(key_hash=hash_api_key(raw), revoked_at__isnull=True)
            .first()
        )
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


class ApiNotSuspended(BasePermission):
    message = "API access for this organization is suspended."

    def has_permission(self, request, view):
        return isinstance(request.user, ApiClient) and not request.user.organization.api_suspended
