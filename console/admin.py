"""The organization page: one page per customer gathering what every app knows of it, with the staff actions
(grant or adjust credits, suspend or restore the API, CSV exports); and the periodic job heartbeats."""

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, IntegerField, OuterRef, Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin import MembershipInline
from accounts.admin_mixins import AuditedAdminMixin
from accounts.forms import clean_tax_identity_fields
from accounts.models import ApiKey, Membership, Organization
from accounts.services import organization_api_access_set
from billing.models import Purchase
from conversations.models import Conversation, mask_number
from core.admin import ReadOnlyAdmin, changelist_url, link
from core.csv import stream_csv
from core.money import format_rupiah, format_thousands
from core.months import Month
from credits.models import LedgerEntry
from credits.selectors import balance_for, ledger_for, lots_for
from invoices.models import Invoice

from .models import JobHeartbeat


class ApiAccessForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (kept in the audit log)"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )


PANEL_ROWS = 10


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M") if dt else "—"


class OrganizationAdminForm(forms.ModelForm):
    """The staff form checks the tax identity as the customer's settings page does (core.tax_ids)."""

    class Meta:
        model = Organization
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose the fields shown

    def clean(self):
        data = super().clean() or {}
        if "tax_document_type" not in self.fields:
            return data
        return clean_tax_identity_fields(self, data)


@admin.register(Organization)
class OrganizationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """One page per customer: balance, lots, ledger, purchases, invoices, conversations and API keys, with the
    staff actions (grant or adjust credits, suspend or restore the API, CSV exports). Panels only show what the
    user's role may view; money moves only through the credits admin's audited form."""

    list_display = ["name", "slug", "legal_name", "npwp", "balance_display", "member_count", "api_status", "created_at"]
    list_filter = ["api_suspended", "created_at"]
    search_fields = ["name", "slug", "legal_name", "npwp", "invoice_email"]
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ["created_at", "api_suspended"]
    inlines = [MembershipInline]
    actions = ["suspend_api", "restore_api"]
    show_full_result_count = False
    change_form_template = "admin/accounts/organization/change_form.html"
    form = OrganizationAdminForm
    fieldsets = [
        (None, {"fields": ["name", "slug", "created_at", "api_suspended"]}),
        (
            _("Billing details"),
            {
                "fields": [
                    "legal_name",
                    "tax_document_type",
                    "npwp",
                    "nitku",
                    "tax_document_number",
                    "tax_country",
                    "address",
                    "invoice_email",
                    "low_balance_threshold",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        members = Membership.objects.filter(organization=OuterRef("pk")).order_by().values("organization")
        # Subqueries, not JOIN + GROUP BY: PostgreSQL evaluates them for the page's rows only.
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=Subquery(members.annotate(n=Count("id")).values("n"), output_field=IntegerField()),
                _balance=F("credit_balance__balance"),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        # Suspension is an audited action, never a checkbox.
        return self.readonly_fields if obj is not None else ["created_at"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "slug"]}), self.fieldsets[1]]
        return self.fieldsets

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj):
        return obj._members or 0

    @admin.display(description=_("balance (credits)"), ordering="_balance")
    def balance_display(self, obj):
        return format_thousands(obj._balance or 0)

    @admin.display(description=_("API"), ordering="api_suspended")
    def api_status(self, obj):
        if obj.api_suspended:
            return format_html('<b style="color:#b91c1c">{}</b>', _("suspended"))
        return _("active")

    # --- the page --------------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            extra.update(self.organization_panels(request, obj))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def organization_panels(self, request, org: Organization) -> dict:
        """What the organization page shows besides its fields, each part only with the matching view
        permission; every part is one query (latest rows only, with links to the full filtered lists)."""
        user = request.user
        can = user.has_perm
        org_filter = {"organization__id__exact": str(org.pk)}
        ctx: dict = {"panels": [], "org_tools": []}

        if can("credits.view_creditlot") or can("credits.view_ledgerentry"):
            ctx["balance"] = balance_for(org)
            if can("credits.view_creditlot"):
                lots = list(lots_for(org)[:PANEL_ROWS])
                ctx["panels"].append(
                    {
                        "title": _("Open credit lots (spent soonest-expiring first)"),
                        "header": [
                            _("Source"),
                            _("Credits"),
                            _("Remaining"),
                            _("Granted"),
                            _("Expires"),
                            _("Reference"),
                        ],
                        "rows": [
                            [
                                lot.get_source_display(),
                                format_thousands(lot.credits),
                                format_thousands(lot.remaining),
                                _local(lot.granted_at),
                                _local(lot.expires_at),
                                lot.reference or "—",
                            ]
                            for lot in lots
                        ],
                        "more": changelist_url("credits_creditlot", **org_filter),
                    }
                )
            if can("credits.view_ledgerentry"):
                entries = list(ledger_for(org).select_related("created_by")[:PANEL_ROWS])
                ctx["panels"].append(
                    {
                        "title": _("Latest ledger entries"),
                        "header": [
                            _("When"),
                            _("Kind"),
                            _("Delta"),
                            _("Balance after"),
                            _("Reference"),
                            _("By"),
                            _("Reason"),
                        ],
                        "rows": [
                            [
                                _local(e.created_at),
                                e.get_kind_display(),
                                ("+" if e.delta > 0 else "") + format_thousands(e.delta),
                                format_thousands(e.balance_after),
                                e.reference or "—",
                                e.created_by or "—",
                                (e.reason[:60] + "…") if len(e.reason) > 60 else (e.reason or "—"),
                            ]
                            for e in entries
                        ],
                        "more": changelist_url("credits_ledgerentry", **org_filter),
                        "csv": reverse("admin:accounts_organization_ledger_csv", args=[org.pk]),
                    }
                )
        if can("billing.view_purchase"):
            purchases = Purchase.objects.filter(organization=org).order_by("-created_at")[:PANEL_ROWS]
            ctx["panels"].append(
                {
                    "title": _("Purchases"),
                    "header": [_("Order"), _("Status"), _("Credits"), _("Total"), _("Created"), _("Paid")],
                    "rows": [
                        [
                            link(reverse("admin:billing_purchase_change", args=[p.pk]), p.order_id),
                            p.get_status_display(),
                            format_thousands(p.credits),
                            format_rupiah(p.total),
                            _local(p.created_at),
                            _local(p.paid_at),
                        ]
                        for p in purchases
                    ],
                    "more": changelist_url("billing_purchase", **org_filter),
                }
            )
        if can("invoices.view_invoice"):
            invoices = Invoice.objects.filter(organization=org).order_by("-created_at")[:PANEL_ROWS]
            ctx["panels"].append(
                {
                    "title": _("Invoices"),
                    "header": [
                        _("Number"),
                        _("Kind"),
                        _("Status"),
                        _("Subtotal"),
                        _("PPN"),
                        _("Total"),
                        _("Issued"),
                        _("Paid"),
                    ],
                    "rows": [
                        [
                            link(reverse("admin:invoices_invoice_change", args=[i.pk]), i.number or _("(draft)")),
                            i.get_kind_display(),
                            i.get_status_display(),
                            format_rupiah(i.subtotal),
                            format_rupiah(i.tax),
                            format_rupiah(i.total),
                            _local(i.issued_at),
                            _local(i.paid_at),
                        ]
                        for i in invoices
                    ],
                    "more": changelist_url("invoices_invoice", **org_filter),
                }
            )
        if can("conversations.view_conversation"):
            conversations = Conversation.objects.filter(organization=org).order_by("-opened_at")[:PANEL_ROWS]
            month = timezone.localdate().strftime("%Y-%m")
            ctx["panels"].append(
                {
                    "title": _("WhatsApp conversations"),
                    "header": [
                        _("Opened"),
                        _("Model"),
                        _("Category"),
                        _("Customer"),
                        _("Market"),
                        _("Price"),
                        _("Free because"),
                    ],
                    "rows": [
                        [
                            _local(c.opened_at),
                            c.pricing_model,
                            c.get_category_display(),
                            c.masked_customer,
                            c.market,
                            format_rupiah(c.price),
                            c.get_free_reason_display() if c.free_reason else "—",
                        ]
                        for c in conversations
                    ],
                    "more": changelist_url("conversations_conversation", **org_filter),
                    "csv": reverse("admin:accounts_organization_conversations_csv", args=[org.pk]) + f"?month={month}",
                }
            )
        if can("accounts.view_apikey"):
            keys = ApiKey.objects.filter(organization=org).select_related("created_by").order_by("-created_at")
            ctx["panels"].append(
                {
                    "title": _("API keys"),
                    "header": [_("Name"), _("Prefix"), _("Created"), _("Last used"), _("Revoked")],
                    "rows": [
                        [k.name, f"{k.prefix}…", _local(k.created_at), _local(k.last_used_at), _local(k.revoked_at)]
                        for k in keys[:PANEL_ROWS]
                    ],
                    "more": changelist_url("accounts_apikey", **org_filter),
                }
            )

        if can("credits.add_creditlot"):
            ctx["org_tools"].append(
                (reverse("admin:credits_adjust") + f"?organization={org.pk}", _("Grant or adjust credits"))
            )
        if can("accounts.change_organization"):
            label = _("Restore API access") if org.api_suspended else _("Suspend API access")
            ctx["org_tools"].append((reverse("admin:accounts_organization_api_access", args=[org.pk]), label))
        if can("accounts.view_auditentry"):
            ctx["org_tools"].append((changelist_url("accounts_auditentry", **org_filter), _("Audit log")))
        return ctx

    # --- extra views: API access, CSV exports ------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/api-access/", view(self.api_access_view), name="accounts_organization_api_access"),
            path("<path:object_id>/ledger.csv", view(self.ledger_csv_view), name="accounts_organization_ledger_csv"),
            path(
                "<path:object_id>/conversations.csv",
                view(self.conversations_csv_view),
                name="accounts_organization_conversations_csv",
            ),
            path(
                "conversations.csv",
                view(self.conversations_csv_view),
                name="accounts_organization_all_conversations_csv",
            ),
            *super().get_urls(),
        ]

    def _org_or_404(self, object_id) -> Organization:
        try:
            return Organization.objects.get(pk=object_id)
        except (Organization.DoesNotExist, ValueError, ValidationError) as exc:
            raise Http404 from exc

    def api_access_view(self, request, object_id):
        if not request.user.has_perm("accounts.change_organization"):
            raise PermissionDenied
        org = self._org_or_404(object_id)
        suspend = not org.api_suspended
        form = ApiAccessForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            organization_api_access_set(
                organization=org, suspended=suspend, actor=request.user, reason=form.cleaned_data["reason"]
            )
            self.message_user(request, _("API access suspended.") if suspend else _("API access restored."))
            return redirect("admin:accounts_organization_change", org.pk)
        return self._api_access_form(request, [org], form, suspend=suspend)

    def _api_access_form(self, request, organizations, form, *, suspend: bool, action: str = ""):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Suspend API access") if suspend else _("Restore API access"),
            "suspend": suspend,
            "organizations": organizations,
            "form": form,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/organization/api_access.html", context)

    def _bulk_api_access(self, request, queryset, *, suspend: bool, action: str):
        form = ApiAccessForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for org in queryset:
                organization_api_access_set(
                    organization=org, suspended=suspend, actor=request.user, reason=form.cleaned_data["reason"]
                )
            self.message_user(request, _("%(n)d organization(s) updated.") % {"n": queryset.count()})
            return None
        return self._api_access_form(request, list(queryset[:200]), form, suspend=suspend, action=action)

    @admin.action(description=_("Suspend API access (with a reason)"), permissions=["change"])
    def suspend_api(self, request, queryset):
        return self._bulk_api_access(request, queryset, suspend=True, action="suspend_api")

    @admin.action(description=_("Restore API access (with a reason)"), permissions=["change"])
    def restore_api(self, request, queryset):
        return self._bulk_api_access(request, queryset, suspend=False, action="restore_api")

    def ledger_csv_view(self, request, object_id):
        """Every ledger row of one organization, oldest first: the statement of its credits."""
        if not request.user.has_perm("credits.view_ledgerentry"):
            raise PermissionDenied
        org = self._org_or_404(object_id)
        rows = (
            LedgerEntry.objects.filter(organization=org)
            .order_by("id")
            .values_list(
                "id",
                "created_at",
                "kind",
                "delta",
                "balance_after",
                "lot_id",
                "reference",
                "reason",
                "created_by__email",
            )
            .iterator(chunk_size=2000)
        )
        header = [
            _("ID"),
            _("Time (WIB)"),
            _("Kind"),
            _("Delta"),
            _("Balance after"),
            _("Lot"),
            _("Reference"),
            _("Reason"),
            _("By"),
        ]
        return stream_csv(
            f"ledger-{org.slug}-{timezone.localdate():%Y%m%d}.csv",
            header,
            (
                [i, _local(at), kind, delta, after, lot or "", ref, reason, by or ""]
                for i, at, kind, delta, after, lot, ref, reason, by in rows
            ),
        )

    def conversations_csv_view(self, request, object_id=None):
        """WhatsApp conversations of one month (``?month=YYYY-MM``, default this month), of one organization
        or of all of them, with the rate and price they were billed at."""
        if not request.user.has_perm("conversations.view_conversation"):
            raise PermissionDenied
        month = Month.parse(request.GET.get("month")) or Month.of(timezone.now())
        qs = Conversation.objects.filter(month=month.first_day)
        name = "all"
        if object_id is not None:
            org = self._org_or_404(object_id)
            qs, name = qs.filter(organization=org), org.slug
        rows = (
            qs.order_by("opened_at", "id")
            .values_list(
                "opened_at",
                "organization__name",
                "phone_number_id",
                "pricing_model",
                "category",
                "market",
                "country",
                "customer",
                "calling_code",
                "key",
                "rated_price",
                "price",
                "free_reason",
                "statement_id",
            )
            .iterator(chunk_size=2000)
        )
        header = [
            _("Opened (WIB)"),
            _("Organization"),
            _("Phone number ID"),
            _("Pricing model"),
            _("Category"),
            _("Market"),
            _("Country"),
            _("Customer"),
            _("Conversation or message ID"),
            _("Rate (IDR)"),
            _("Price (IDR)"),
            _("Free because"),
            _("On a statement"),
        ]
        return stream_csv(
            f"conversations-{name}-{month}.csv",
            header,
            (
                [
                    _local(opened),
                    org_name or "",
                    pnid,
                    model,
                    category,
                    market,
                    country,
                    mask_number(customer, code),
                    key,
                    rate,
                    price,
                    free,
                    "yes" if statement else "no",
                ]
                for opened, org_name, pnid, model, category, market, country, customer, code, key, rate, price, free, statement in rows
            ),
        )


@admin.register(JobHeartbeat)
class JobHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "task", "last_success_at", "last_failure_at", "max_age_seconds", "overdue"]
    search_fields = ["name", "task"]

    @admin.display(boolean=True, description=_("overdue"))
    def overdue(self, obj):
        return obj.is_overdue()
