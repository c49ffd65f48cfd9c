"""Admin for what staff choose and watch around payment: the payment methods offered at checkout, owners'
auto top-up rules (read-only: owners set them), and the outbound e-mail log with a retry action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models.auto_topup import AutoTopUp
from ..models.emails import OutboundEmail
from ..models.purchases import PaymentMethod
from ..services.emails import email_retry


@admin.register(PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "kind", "enabled", "position", "gateway_names", "updated_at"]
    list_editable = ["enabled", "position"]
    list_filter = ["enabled"]
    ordering = ["position", "code"]

    @admin.display(description=_("Midtrans / Xendit names"))
    def gateway_names(self, obj):
        method = obj.method
        if method is None:
            return "—"
        return f"{', '.join(method.midtrans) or '—'} / {', '.join(method.xendit) or '—'}"

    def has_delete_permission(self, request, obj=None):
        return False  # turn a method off instead: past purchases name it


@admin.register(AutoTopUp)
class AutoTopUpAdmin(admin.ModelAdmin):
    list_display = ["organization", "enabled", "threshold", "credits", "last_prepared_at", "updated_by", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["organization__name", "organization__slug"]
    list_select_related = ["organization", "updated_by"]
    readonly_fields = [f.name for f in AutoTopUp._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the owner's rule; changes go through the audited service from their settings


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to_email", "language", "status", "attempts", "short_error", "sent_at"]
    list_filter = ["status", "kind", "language"]
    search_fields = ["to_email", "subject", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    actions = ["retry_now"]

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error or "")[:80]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Retry sending now"))
    def retry_now(self, request, queryset):
        sent = failed = 0
        for email in queryset.exclude(status=OutboundEmail.Status.SENT):
            if email_retry(email=email):
                sent += 1
            else:
                failed += 1
        if sent:
            self.message_user(request, ngettext("%d e-mail sent.", "%d e-mails sent.", sent) % sent)
        if failed:
            self.message_user(
                request,
                ngettext("%d e-mail failed again.", "%d e-mails failed again.", failed) % failed,
                messages.WARNING,
            )
