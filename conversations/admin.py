"""Admin for WhatsApp: numbers (and the unknown ones Meta sent us), raw webhook events with a reprocess
action, rated conversations (read-only), rate cards (editable until used) and monthly statements."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import AuditedAdminMixin
from accounts.models import Organization
from core.admin import ReadOnlyAdmin

from .models import (
    ChargeCorrection,
    Conversation,
    MessageStatus,
    MonthlyStatement,
    RateCard,
    RateCardImport,
    UnknownNumber,
    VolumeTierUpdate,
    WebhookEvent,
    WhatsAppNumber,
)
from .selectors import current_month, parse_month, previous_month
from .services import (
    RateCardFileError,
    conversations_rerate,
    rate_card_import_apply,
    rate_card_import_preview,
    rate_card_is_frozen,
    statement_close,
    unknown_number_assign,
    webhook_events_reprocess,
    whatsapp_number_add,
)
from .services.rate_cards import MAX_FILE_BYTES


def _link(obj, label=None):
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


class WhatsAppNumberForm(forms.ModelForm):
    class Meta:
        model = WhatsAppNumber
        fields = ["organization", "phone_number_id", "waba_id", "display_number", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional on the form: most numbers are Indonesian and keep the default.
        self.fields["time_zone"].required = False

    def clean_time_zone(self):
        return self.cleaned_data.get("time_zone") or WhatsAppNumber._meta.get_field("time_zone").default


@admin.register(WhatsAppNumber)
class WhatsAppNumberAdmin(admin.ModelAdmin):
    form = WhatsAppNumberForm
    raw_id_fields = ["organization"]  # an id box, not a drop-down of every organization
    list_display = ["display_number", "phone_number_id", "waba_id", "organization_link", "created_at"]
    search_fields = ["display_number", "phone_number_id", "waba_id", "organization__name", "organization__slug"]
    list_select_related = ["organization"]

    def get_readonly_fields(self, request, obj=None):
        return ["phone_number_id", "organization"] if obj else []

    @admin.display(description=_("organization"), ordering="organization__name")
    def organization_link(self, obj):
        return _link(obj.organization)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # The same service as the command: traffic received while the number was unknown follows it.
        saved = whatsapp_number_add(
            organization=obj.organization,
            phone_number_id=obj.phone_number_id,
            waba_id=obj.waba_id,
            display_number=obj.display_number,
            time_zone=obj.time_zone,
            actor=request.user,
            reason=str(_("Added in the admin")),
        )
        obj.pk = saved.pk


class ResolvedFilter(admin.SimpleListFilter):
    title = _("resolved")
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", _("Not yet assigned")), ("yes", _("Assigned to an organization"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


class AssignNumberForm(forms.Form):
    organization = forms.SlugField(label=_("Organization (slug)"))
    reason = forms.CharField(
        label=_("Reason (kept in the audit log)"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )

    def clean_organization(self):
        # A slug, not a drop-down: there can be 100,000 organizations.
        try:
            return Organization.objects.get(slug=self.cleaned_data["organization"])
        except Organization.DoesNotExist:
            raise forms.ValidationError(_("No organization with this slug."))


@admin.register(UnknownNumber)
class UnknownNumberAdmin(admin.ModelAdmin):
    """Numbers Meta sends traffic for that no organization owns: add them as a WhatsApp number to assign."""

    list_display = ["phone_number_id", "display_number", "waba_id", "statuses_seen", "first_seen_at",
                    "last_seen_at", "resolved_at", "add_link"]  # fmt: skip
    list_filter = [ResolvedFilter]
    search_fields = ["phone_number_id", "display_number", "waba_id"]
    readonly_fields = [f.name for f in UnknownNumber._meta.fields]

    def has_add_permission(self, request):
        return False

    actions = ["assign_to_organization"]

    def has_assign_permission(self, request):
        return request.user.has_perm("conversations.add_whatsappnumber")

    @admin.action(description=_("Assign to an organization (with a reason)"), permissions=["assign"])
    def assign_to_organization(self, request, queryset):
        """The review-queue action: the number joins the organization through the same service as the
        command (its earlier traffic follows it), with an audit entry saying who and why."""
        form = AssignNumberForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            org, reason = form.cleaned_data["organization"], form.cleaned_data["reason"]
            for unknown in queryset.filter(resolved_at__isnull=True):
                try:
                    unknown_number_assign(unknown=unknown, organization=org, actor=request.user, reason=reason)
                except ValueError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
            self.message_user(request, _("Assigned to %(org)s.") % {"org": org})
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Assign WhatsApp numbers to an organization"),
            "numbers": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/conversations/unknown_number_assign.html", context)

    @admin.display(description=_("assign"))
    def add_link(self, obj):
        if obj.resolved_at:
            return "—"
        url = reverse("admin:conversations_whatsappnumber_add")
        return format_html(
            '<a href="{}?phone_number_id={}&waba_id={}&display_number={}">{}</a>',
            url, obj.phone_number_id, obj.waba_id, obj.display_number, _("Add to an organization"),
        )  # fmt: skip


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["id", "received_at", "status", "statuses_count", "messages_count", "phone_number_ids",
                    "short_flags", "attempts"]  # fmt: skip
    list_filter = ["status", "received_at"]
    # Exact, indexed keys only: a LIKE over millions of raw bodies would be a full scan.
    search_fields = ["=body_sha256"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ["reprocess"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("warnings"))
    def short_flags(self, obj):
        text = "; ".join(obj.flags or [])
        return (text[:120] + "…") if len(text) > 120 else text

    @admin.action(description=_("Process again (idempotent)"), permissions=["change"])
    def reprocess(self, request, queryset):
        count = webhook_events_reprocess(
            events=list(queryset), actor=request.user, reason=str(_("Processed again from the admin"))
        )
        self.message_user(request, _("%(n)d event(s) processed again.") % {"n": count}, messages.SUCCESS)


class ClosedFilter(admin.SimpleListFilter):
    title = _("statement")
    parameter_name = "closed"

    def lookups(self, request, model_admin):
        return [("open", _("Open month (estimate)")), ("closed", _("On a statement"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(statement__isnull=True)
        if self.value() == "closed":
            return queryset.filter(statement__isnull=False)
        return queryset


class MonthFilter(admin.SimpleListFilter):
    """The last 18 billing months, computed from the calendar (no query over the table)."""

    title = _("month")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        month, months = current_month(), []
        for _i in range(18):
            months.append((f"{month:%Y-%m}", f"{month:%B %Y}"))
            month = previous_month(month)
        return months

    def queryset(self, request, queryset):
        month = parse_month(self.value())
        return queryset.filter(month=month) if month else queryset


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["opened_at", "organization", "pricing_model", "category", "masked_customer", "country",
                    "market", "price", "free_reason", "meta_billable", "statement_link"]  # fmt: skip
    # No filters that need a DISTINCT over the table (markets, organizations, months from data).
    list_filter = [MonthFilter, "pricing_model", "category", "free_reason", ClosedFilter]
    search_fields = ["=key"]  # Meta's conversation id (CBP) or message id (PMP): the unique index leads with it
    list_select_related = ["organization", "statement"]
    readonly_fields = [f.name for f in Conversation._meta.fields]
    actions = ["rerate"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("statement"))
    def statement_link(self, obj):
        return _link(obj.statement) if obj.statement_id else _("open")

    @admin.action(description=_("Rate again with the current cards (open months only)"))
    def rerate(self, request, queryset):
        count = conversations_rerate(conversations=list(queryset), actor=request.user, reason="admin re-rate")
        self.message_user(
            request, _("%(n)d conversation(s) re-rated; closed months are never re-rated.") % {"n": count}
        )


@admin.register(MessageStatus)
class MessageStatusAdmin(admin.ModelAdmin):
    list_display = ["wamid", "phone_number_id", "organization", "sent_at", "delivered_at", "read_at", "failed_at",
                    "pricing_model", "pricing_category", "pricing_type", "charge_key"]  # fmt: skip
    search_fields = ["=wamid"]
    readonly_fields = [f.name for f in MessageStatus._meta.fields]
    list_select_related = ["organization"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False


class RateCardForm(forms.ModelForm):
    class Meta:
        model = RateCard
        fields = ["market", "category", "price", "effective_from", "tier_from", "tier_to", "note"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and rate_card_is_frozen(self.instance):
            raise forms.ValidationError(
                _("This rate card has rated traffic: it is frozen. Add a card with a later date.")
            )
        return cleaned


@admin.register(RateCard)
class RateCardAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Rates change by importing Meta's rate card file (*Rate card imports*) or adding a card with a later
    effective date. A card that already rated conversations is frozen, so history keeps the price it was
    billed at."""

    form = RateCardForm
    list_display = ["market", "category", "tier_from", "tier_to", "price", "currency", "effective_from", "note"]
    list_filter = ["category", "effective_from"]
    search_fields = ["=market", "note"]
    ordering = ["market", "category", "-effective_from", "tier_from"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and rate_card_is_frozen(obj):
            return ["market", "category", "price", "effective_from", "tier_from", "tier_to", "note"]
        return []

    def has_delete_permission(self, request, obj=None):
        if obj is not None and rate_card_is_frozen(obj):
            return False
        return super().has_delete_permission(request, obj)


class RateCardImportForm(forms.ModelForm):
    file = forms.FileField(
        label=_("Meta's rate card file (XLSX or CSV)"),
        help_text=_(
            "Meta's IDR rate card as downloaded (XLSX: the first worksheet is read) or saved as CSV; up to 2 MB."
        ),
    )
    effective_date = forms.DateField(label=_("Effective from (date)"), help_text=_("As Meta announces it"))

    class Meta:
        model = RateCardImport
        fields: list[str] = []

    def clean(self):
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is None or cleaned.get("effective_date") is None:
            return cleaned
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        try:
            self.preview = rate_card_import_preview(
                file_name=upload.name,
                content=upload.read(),
                effective_from=cleaned["effective_date"],
                actor=getattr(self, "actor", None),
            )
        except RateCardFileError as exc:
            raise forms.ValidationError(str(exc))
        return cleaned


@admin.register(RateCardImport)
class RateCardImportAdmin(admin.ModelAdmin):
    """Upload Meta's published rate card (one file per currency, IDR for Saldo) with its effective date: the
    file is read and previewed; *Review and apply* creates its cards."""

    list_display = ["created_at", "file_name", "currency", "effective_from", "markets_count", "rates_count",
                    "status", "applied_at"]  # fmt: skip
    list_filter = ["status"]
    readonly_fields = ["file_name", "currency", "effective_from", "status", "uploaded_by", "created_at",
                       "applied_at", "preview_table", "warnings_list", "apply_link"]  # fmt: skip
    exclude = ["rows", "warnings", "sha256"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:

            class Bound(RateCardImportForm):
                actor = request.user

            return Bound
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["file", "effective_date"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.pk = form.preview.pk  # the service stored it (or found the same file's import)
            obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass

    # Whoever may add rate cards (Finance, superusers) imports them.
    def has_add_permission(self, request):
        return request.user.has_perm("conversations.add_ratecard")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:conversations_ratecardimport_apply", args=[obj.pk]))

    def get_urls(self):
        return [
            path(
                "<int:pk>/apply/",
                self.admin_site.admin_view(self.apply_view),
                name="conversations_ratecardimport_apply",
            ),
            *super().get_urls(),
        ]

    def apply_view(self, request, pk):
        rate_card_import = get_object_or_404(RateCardImport, pk=pk)
        if not request.user.has_perm("conversations.add_ratecard"):
            raise PermissionDenied
        if request.method == "POST":
            count = rate_card_import_apply(
                rate_card_import=rate_card_import, actor=request.user, reason=str(_("Applied from the admin"))
            )
            self.message_user(request, _("%(n)d rate card(s) created or changed.") % {"n": count}, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:conversations_ratecard_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Review and apply a rate card"),
            "opts": self.model._meta,
            "rate_card_import": rate_card_import,
            "rows": rate_card_import.rows,
            "markets": sorted({r["market_name"] for r in rate_card_import.rows}),
        }
        return TemplateResponse(request, "admin/conversations/rate_card_import_apply.html", context)

    @admin.display(description=_("markets"))
    def markets_count(self, obj):
        return len({r["market"] for r in obj.rows})

    @admin.display(description=_("rates"))
    def rates_count(self, obj):
        return len(obj.rows)

    @admin.display(description=_("rates read"))
    def preview_table(self, obj):
        return format_html_join(
            "",
            "<div>{} · {} · {} → Rp {}</div>",
            ((r["market_name"], r["category"], _tier_label(r), r["price"]) for r in obj.rows[:500]),
        )

    @admin.display(description=_("warnings"))
    def warnings_list(self, obj):
        return format_html_join("", "<div>{}</div>", ((w,) for w in obj.warnings)) or "—"

    @admin.display(description=_("apply"))
    def apply_link(self, obj):
        if obj.status == RateCardImport.Status.APPLIED:
            return _("Applied")
        url = reverse("admin:conversations_ratecardimport_apply", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Review and apply"))


def _tier_label(row: dict) -> str:
    if int(row["tier_from"]) <= 1 and not row["tier_to"]:
        return str(_("list rate"))
    end = f"{int(row['tier_to']):,}" if row["tier_to"] else "+"
    return f"{int(row['tier_from']):,}–{end}"


@admin.register(VolumeTierUpdate)
class VolumeTierUpdateAdmin(ReadOnlyAdmin):
    """Meta's volume tier announcements (``account_update`` webhooks): which tier a WABA reached, per market
    and category, to compare with the tier positions on *Conversations*."""

    list_display = ["received_at", "waba_id", "effective_month", "region", "market", "pricing_category", "tier",
                    "tier_update_time", "event"]  # fmt: skip
    list_filter = ["pricing_category", "effective_month"]
    search_fields = ["=waba_id"]
    show_full_result_count = False


@admin.register(ChargeCorrection)
class ChargeCorrectionAdmin(ReadOnlyAdmin):
    """Charges corrected after a late status (the delivered moment moved its month or rate)."""

    list_display = ["created_at", "conversation", "reason", "before", "after"]
    list_filter = ["reason"]
    list_select_related = ["conversation"]
    raw_id_fields = ["conversation"]
    show_full_result_count = False


@admin.register(MonthlyStatement)
class MonthlyStatementAdmin(admin.ModelAdmin):
    list_display = ["month", "organization", "conversations_count", "total_amount", "invoice_link", "closed_at"]
    list_filter = ["month"]
    search_fields = ["organization__name", "organization__slug"]
    list_select_related = ["organization"]
    readonly_fields = [f.name for f in MonthlyStatement._meta.fields]
    actions = ["close_again"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("invoice"))
    def invoice_link(self, obj):
        if not obj.invoice_id:
            return "—"
        url = reverse("admin:invoices_invoice_change", args=[obj.invoice_id])
        return format_html('<a href="{}">{}</a>', url, _("invoice"))

    @admin.action(description=_("Finish closing (idempotent)"))
    def close_again(self, request, queryset):
        for statement in queryset.select_related("organization"):
            statement_close(organization=statement.organization, month=statement.month)
        self.message_user(request, _("Done."))
