"""Admin pieces shared by every app's admin: read-only history admins and links between changelists."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

__all__ = ["ReadOnlyAdmin", "changelist_url", "link", "OrganizationLinkMixin"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that record history (ledger, usage, audit log, heartbeats): nobody adds, changes or deletes them."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def changelist_url(name: str, **params: object) -> str:
    """``changelist_url("credits_creditlot", organization__id__exact=x)`` → the filtered list's URL."""
    url = reverse(f"admin:{name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def link(url: str, label: object) -> str:
    return format_html('<a href="{}">{}</a>', url, label)


class OrganizationLinkMixin:
    """An ``organization_link`` column for admins of rows that belong to an organization."""

    @admin.display(description=_("organization"), ordering="organization__name")
    def organization_link(self, obj: Any) -> str:
        if not obj.organization_id:
            return "—"
        return link(reverse("admin:accounts_organization_change", args=[obj.organization_id]), obj.organization)
