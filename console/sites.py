"""Saldo's admin site: the staff home with the business's figures (console.home) in place of Django's plain index."""

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .home import home_context


class SaldoAdminSite(admin.AdminSite):
    site_header = _("Saldo admin")
    site_title = _("Saldo admin")
    index_title = _("Back office")

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        return super().index(request, extra_context={**home_context(request), **(extra_context or {})})
