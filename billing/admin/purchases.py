"""Admin for prices, purchases, payment sessions, gateway notifications and the review queue.

Purchases and notifications are records of money: staff never edit them here. Decisions go through the
review actions (approve and credit, refund note, dismiss), which call services and leave an audit entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import AuditedAdminMixin
from core.money import format_rupiah, format_thousands

from ..models.purchases import PaymentNotification, PaymentSession, PriceList, PriceTier, Purchase, PurchaseReview
from ..selectors.purchases import price_list_current
from ..services.purchases import (
    PurchaseError,
    notification_reprocess,
    purchase_review_approve,
    purchase_review_dismiss,
    purchase_review_refund,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    extra = 1
    min_num = 1


@admin.register(PriceList)
class PriceListAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "effective_from", "tiers_summary", "in_force"]
    search_fields = ["name"]
    inlines = [PriceTierInline]
    date_hierarchy = "effective_from"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tiers")

    @admin.display(description=_("tiers"))
    def tiers_summary(self, obj):
        return " · ".join(f"≥{format_thousands(t.min_credits)}: {format_rupiah(t.unit_price)}" for t in obj.tiers.all())

    @admin.display(description=_("in force"), boolean=True)
    def in_force(self, obj):
        current = price_list_current()
        return current is not None and current.pk == obj.pk

    def has_change_permission(self, request, obj=None):
        # A list already in force priced real purchases: add a new list with a later date instead.
        if obj is not None and obj.effective_from <= timezone.now():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.effective_from <= timezone.now():
            return False
        return super().has_delete_permission(request, obj)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentSessionInline(ReadOnlyInline):
    model = PaymentSession
    fields = readonly_fields = ("gateway_ref", "status", "created_at", "expires_at", "closed_at", "redirect_url")


class PaymentNotificationInline(ReadOnlyInline):
    model = PaymentNotification
    fields = readonly_fields = ("received_at", "raw_status", "event_status", "status", "deliveries", "error")


class ReviewNoteForm(forms.Form):
    note = forms.CharField(label=_("Note (why; shown in the audit log)"), widget=forms.Textarea(attrs={"rows": 4}))


def _review_action(service, title: StrOrPromise):
    def action(modeladmin, request, queryset):
        if "apply" in request.POST:
            form = ReviewNoteForm(request.POST)
            if form.is_valid():
                done = 0
                for purchase in queryset:
                    try:
                        service(purchase=purchase, actor=request.user, note=form.cleaned_data["note"])
                        done += 1
                    except PurchaseError as exc:
                        modeladmin.message_user(request, f"{purchase}: {exc}", messages.ERROR)
                if done:
                    modeladmin.message_user(request, _("%(n)d purchase(s): %(what)s.") % {"n": done, "what": title})
                return None
        else:
            form = ReviewNoteForm()
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "purchases": queryset,
            "action": request.POST.get("action"),
            "opts": modeladmin.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "billing/purchase_review_action.html", context)

    action.__name__ = service.__name__
    return action


# Decisions move money: they need the change permission (Finance), not just view (Support).
approve_and_credit = admin.action(description=_("Approve and credit"), permissions=["change"])(
    _review_action(purchase_review_approve, _("Approve and credit"))
)
refund_note = admin.action(description=_("Record a refund to the payer"), permissions=["change"])(
    _review_action(purchase_review_refund, _("Record a refund to the payer"))
)
dismiss = admin.action(description=_("Dismiss (no change)"), permissions=["change"])(
    _review_action(purchase_review_dismiss, _("Dismiss"))
)


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = [
        "order_id",
        "organization",
        "credits_display",
        "total_display",
        "status",
        "gateway",
        "created_at",
        "paid_at",
        "review_reason",
    ]
    list_filter = ["status", "gateway", "review_reason", "review_outcome", "created_at"]
    search_fields = ["order_id", "gateway_ref", "organization__name", "organization__slug", "invoice__number"]
    list_select_related = ["organization", "invoice"]
    show_full_result_count = False  # the created_at filter covers what date_hierarchy did, without a scan
    inlines = [PaymentSessionInline, PaymentNotificationInline]
    actions = [approve_and_credit, refund_note, dismiss]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "organization",
                    "created_by",
                    "status",
                    "gateway",
                    "order_id",
                    "gateway_ref",
                    "created_at",
                    "paid_at",
                    "closed_at",
                ]
            },
        ),
        (
            _("Money"),
            {
                "fields": [
                    "credits",
                    "unit_price",
                    "subtotal",
                    "tax_rate",
                    "tax",
                    "total",
                    "paid_amount",
                    "invoice_link",
                    "lot_link",
                ]
            },
        ),
        (
            _("Review"),
            {
                "fields": [
                    "review_reason",
                    "review_outcome",
                    "review_note",
                    "reviewed_at",
                    "reviewed_by",
                    "reversed_at",
                    "clawed_back_credits",
                    "owed_credits",
                ]
            },
        ),
        (_("Billing details"), {"fields": ["billing_snapshot", "idempotency_key"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("credits"), ordering="credits")
    def credits_display(self, obj):
        return format_thousands(obj.credits)

    @admin.display(description=_("total"), ordering="total")
    def total_display(self, obj):
        return format_rupiah(obj.total)

    @admin.display(description=_("invoice"))
    def invoice_link(self, obj):
        if not obj.invoice_id:
            return "—"
        url = reverse("admin:invoices_invoice_change", args=[obj.invoice_id])
        return format_html('<a href="{}">{} ({})</a>', url, obj.invoice.number or obj.invoice_id, obj.invoice.status)

    @admin.display(description=_("credit lot"))
    def lot_link(self, obj):
        if not obj.lot_id:
            return "—"
        try:
            url = reverse("admin:credits_creditlot_change", args=[obj.lot_id])
        except NoReverseMatch:  # the lot admin may not be registered
            return str(obj.lot)
        return format_html('<a href="{}">{}</a>', url, obj.lot)


@admin.register(PurchaseReview)
class PurchaseReviewAdmin(PurchaseAdmin):
    """Purchases waiting for a decision, oldest first."""

    list_display = [
        "order_id",
        "organization",
        "review_reason",
        "total_display",
        "paid_amount",
        "credits_display",
        "owed_credits",
        "paid_at",
        "created_at",
    ]
    list_filter = ["review_reason", "gateway"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=Purchase.Status.NEEDS_REVIEW, reviewed_at__isnull=True)
            .order_by("created_at")
        )


@admin.register(PaymentSession)
class PaymentSessionAdmin(admin.ModelAdmin):
    list_display = ["gateway_ref", "purchase", "gateway", "status", "created_at", "expires_at", "closed_at"]
    list_filter = ["status", "gateway"]
    search_fields = ["gateway_ref", "purchase__order_id", "purchase__organization__name"]
    list_select_related = ["purchase"]
    readonly_fields = [
        "purchase",
        "gateway",
        "gateway_ref",
        "redirect_url",
        "status",
        "created_at",
        "expires_at",
        "closed_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "gateway",
        "gateway_ref",
        "raw_status",
        "event_status",
        "status",
        "deliveries",
        "purchase",
    ]
    list_filter = ["status", "gateway", "event_status"]
    search_fields = ["key", "gateway_ref", "purchase__order_id"]
    list_select_related = ["purchase"]
    readonly_fields = [
        "gateway",
        "key",
        "gateway_ref",
        "raw_status",
        "event_status",
        "body",
        "headers",
        "purchase",
        "status",
        "error",
        "deliveries",
        "received_at",
        "processed_at",
    ]
    actions = ["reprocess"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Reprocess (confirm with the gateway and apply again)"), permissions=["change"])
    def reprocess(self, request, queryset):
        outcome: dict[str, int] = {}
        for notification in queryset.select_related("purchase__organization"):
            status = notification_reprocess(notification=notification, actor=request.user).status
            outcome[status] = outcome.get(status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(outcome.items()))
        self.message_user(request, _("Reprocessed: %(summary)s.") % {"summary": summary})
