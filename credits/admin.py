"""Credits in the back office. Lots, ledger and usage are read-only: money moves only through services,
here through the grant/adjust form, which writes an audit entry in the same transaction."""

from typing import cast

from django.contrib import admin, messages
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import OrganizationLinkMixin, ReadOnlyAdmin, changelist_url

from .forms import CreditAdjustForm
from .models import CreditBalance, CreditBalanceQuerySet, CreditLot, LedgerEntry, MessageUsage
from .selectors import balance_for
from .services import InsufficientCredits, credits_adjust, credits_grant


@admin.register(CreditBalance)
class CreditBalanceAdmin(ReadOnlyAdmin):
    list_display = ["organization", "spendable_balance", "balance", "updated_at", "low_balance_notified_at"]
    search_fields = ["organization__name", "organization__slug"]
    list_select_related = ["organization"]
    readonly_fields = ["organization", "balance", "spendable_balance", "updated_at", "low_balance_notified_at", "links"]
    change_list_template = "credits/admin/balance_change_list.html"

    def get_queryset(self, request):
        # The spendable balance in the same query (balance row minus expired-unswept lots), not one per row.
        queryset = cast(CreditBalanceQuerySet, super().get_queryset(request))
        return queryset.with_spendable(timezone.now())

    @admin.display(description=_("spendable balance"), ordering="spendable")
    def spendable_balance(self, obj):
        return obj.spendable

    @admin.display(description=_("history"))
    def links(self, obj):
        lots = changelist_url("credits_creditlot", organization__id__exact=obj.organization_id)
        ledger = changelist_url("credits_ledgerentry", organization__id__exact=obj.organization_id)
        adjust = reverse("admin:credits_adjust") + f"?organization={obj.organization_id}"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            lots,
            _("lots"),
            ledger,
            _("ledger"),
            adjust,
            _("grant or adjust"),
        )

    def get_urls(self):
        return [
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="credits_adjust"),
            *super().get_urls(),
        ]

    def adjust_view(self, request):
        if not request.user.has_perm("credits.add_creditlot") and not request.user.is_superuser:
            messages.error(request, _("You may not grant or adjust credits."))
            return redirect("admin:index")
        initial = {"organization": request.GET.get("organization")} if request.GET.get("organization") else {}
        form = CreditAdjustForm(request.POST or None, initial=initial)
        # An id box with a lookup link, not a drop-down of every organization (there may be 100,000).
        form.fields["organization"].widget = ForeignKeyRawIdWidget(
            CreditLot._meta.get_field("organization").remote_field, self.admin_site
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            org = data["organization"]
            before = balance_for(org)
            try:
                if data["kind"] == CreditAdjustForm.GRANT:
                    credits_grant(
                        organization=org,
                        credits=data["credits"],
                        reason=data["reason"],
                        actor=request.user,
                        reference=data["reference"],
                        valid_days=data["valid_days"],
                    )
                else:
                    credits_adjust(
                        organization=org,
                        credits=data["credits"],
                        reason=data["reason"],
                        actor=request.user,
                        reference=data["reference"],
                        valid_days=data["valid_days"],
                    )
                after = balance_for(org)
            except InsufficientCredits as exc:
                form.add_error("credits", _("Only %(n)s credits can be taken.") % {"n": exc.balance})
            else:
                messages.success(
                    request,
                    _("%(org)s: balance %(before)s → %(after)s.") % {"org": org, "before": before, "after": after},
                )
                return redirect(changelist_url("credits_ledgerentry", organization__id__exact=org.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Grant or adjust credits"),
            "form": form,
            "opts": self.model._meta,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "credits/admin/adjust.html", context)


@admin.register(CreditLot)
class CreditLotAdmin(OrganizationLinkMixin, ReadOnlyAdmin):
    list_display = ["granted_at", "organization_link", "source", "credits", "remaining", "expires_at", "reference"]
    # No organization filter: its sidebar would list every organization. The organization page links here
    # with ?organization__id__exact=<id>, and search finds an organization by name or slug.
    list_filter = ["source", ("expired_at", admin.EmptyFieldListFilter), "granted_at"]
    search_fields = ["organization__name", "organization__slug", "reference", "reason"]
    list_select_related = ["organization", "created_by"]
    ordering = ["-granted_at"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(OrganizationLinkMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "organization_link",
        "kind",
        "delta",
        "balance_after",
        "reference",
        "created_by",
    ]
    list_filter = ["kind", "created_at"]  # organizations: by search or from the organization page
    search_fields = ["organization__name", "organization__slug", "reference", "reason"]
    list_select_related = ["organization", "created_by"]
    # No date_hierarchy on the big tables: it reads DISTINCT years over every row; the date filter does not.
    show_full_result_count = False


@admin.register(MessageUsage)
class MessageUsageAdmin(OrganizationLinkMixin, ReadOnlyAdmin):
    list_display = ["charged_at", "organization_link", "message_id", "direction", "occurred_at", "spendable_after"]
    list_filter = ["direction", "charged_at"]
    search_fields = ["message_id"]
    list_select_related = ["organization"]
    show_full_result_count = False
