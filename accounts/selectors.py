"""Reads about users and organizations, always scoped."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from .models import ApiKey, Membership, Organization, User

_M = TypeVar("_M", bound=Model)


def organizations_for(user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user).order_by("name")


def membership_for(*, user: User, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=organization).first()


def members_for(organization: Organization) -> QuerySet[Membership]:
    return organization.memberships.select_related("user").order_by("role", "user__email")


def api_keys_for(organization: Organization) -> QuerySet[ApiKey]:
    return organization.api_keys.order_by("-created_at")


def get_for_organization(queryset: QuerySet[_M], organization: Organization, **lookup: object) -> _M:
    """Fetch one object belonging to ``organization`` or raise 404: another organization's object
    is indistinguishable from one that does not exist."""
    try:
        return queryset.get(organization=organization, **lookup)
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError) as exc:  # invalid UUIDs: ValidationError
        raise Http404 from exc
