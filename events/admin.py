"""Staff see every organization's endpoints, events, deliveries and attempts; they enable/disable endpoints,
resend deliveries and send test events through the same services customers use. Secrets are never shown."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


def _link(obj, label=None):
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("attempted_at", "status_code", "latency_ms", "succeeded", "error", "response_excerpt")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "enabled", "consecutive_failures", "last_success_at", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "description", "organization__name", "organization__slug"]
    list_select_related = ["organization"]
    readonly_fields = [
        "organization",
        "url",
        "event_types",
        "consecutive_failures",
        "failing_since",
        "last_success_at",
        "disabled_reason",
        "disabled_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    fields = ["organization", "url", "description", "event_types", "enabled", *readonly_fields[3:]]
    actions = ["enable", "disable", "send_test"]

    def has_add_permission(self, request):
        return False  # customers add endpoints (Settings or API): they are the ones who get the secret

    def save_model(self, request, obj, form, change):
        services.endpoint_update(
            endpoint=obj, actor=request.user, description=obj.description, enabled=form.cleaned_data["enabled"]
        )

    @admin.action(description=_("Enable the selected endpoints"), permissions=["change"])
    def enable(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_update(endpoint=endpoint, actor=request.user, enabled=True)
        messages.success(request, _("Enabled."))

    @admin.action(description=_("Disable the selected endpoints"), permissions=["change"])
    def disable(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_update(endpoint=endpoint, actor=request.user, enabled=False)
        messages.success(request, _("Disabled."))

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_send_test(endpoint=endpoint, actor=request.user)
        messages.success(request, _("Test events queued."))


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = readonly_fields = ("endpoint", "status", "attempts", "next_attempt_at", "delivered_at", "last_status_code")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["type", "organization", "created_at", "id"]
    list_filter = ["type"]
    search_fields = ["id", "organization__name", "organization__slug"]
    list_select_related = ["organization"]
    readonly_fields = ["id", "organization", "type", "created_at", "payload", "dedupe_key"]
    inlines = [DeliveryInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "endpoint_link", "status", "attempts", "next_attempt_at", "last_status_code"]
    list_filter = ["status"]
    search_fields = ["event__id", "endpoint__url", "event__organization__slug"]
    list_select_related = ["event", "endpoint"]
    fields = readonly_fields = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "first_attempt_at",
        "delivered_at",
        "last_status_code",
    )
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("event"))
    def event_type(self, obj):
        return _link(obj.event, obj.event.type)

    @admin.display(description=_("endpoint"))
    def endpoint_link(self, obj):
        return _link(obj.endpoint, obj.endpoint.url)

    @admin.action(description=_("Resend now"), permissions=["change"])
    def resend(self, request, queryset):
        for delivery in queryset:
            services.delivery_resend(delivery=delivery, actor=request.user)
        messages.success(request, _("Queued to be sent again."))
