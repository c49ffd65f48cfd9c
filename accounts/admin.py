"""Admin for accounts: users, memberships, invitations, API keys and the audit log. The organization page (the
staff overview of a customer) lives in the console, which may read every app."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin

from . import services
from .admin_mixins import AuditedAdminMixin
from .models import ApiKey, AuditEntry, Invitation, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "organization"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "organization_count", "last_login", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name", "memberships__organization__name"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)

    def get_queryset(self, request):
        # A subquery, not JOIN + GROUP BY over every user: evaluated for the page's rows only.
        memberships = Membership.objects.filter(user=OuterRef("pk")).order_by().values("user")
        return (
            super()
            .get_queryset(request)
            .annotate(_orgs=Subquery(memberships.annotate(n=Count("id")).values("n"), output_field=IntegerField()))
        )

    @admin.display(description=_("organizations"), ordering="_orgs")
    def organization_count(self, obj):
        return obj._orgs or 0


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["email", "organization", "role", "invited_by", "created_at", "accepted_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization", "invited_by"]
    readonly_fields = ["token", "created_at", "accepted_at"]
    exclude = ["token"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """The secret is never stored, so never shown; staff see the prefix and can revoke."""

    list_display = ["prefix", "name", "organization", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["prefix", "name", "organization__name", "organization__slug"]
    list_select_related = ["organization", "created_by"]
    fields = ["organization", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["organization", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Keys are created where the secret can be shown once: the settings page or create_api_key.
        return False

    @admin.action(description=_("Revoke selected API keys"))
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(api_key=key, actor=request.user)
        self.message_user(request, _("Keys revoked."))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "organization", "target_repr", "short_reason"]
    list_filter = ["action", "created_at"]
    search_fields = ["action", "target_repr", "target_id", "reason", "actor__email", "organization__name"]
    list_select_related = ["actor", "organization"]
    show_full_result_count = False
    fields = [
        "created_at",
        "actor",
        "organization",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "before",
        "after",
        "reason",
    ]

    @admin.display(description=_("reason"))
    def short_reason(self, obj):
        return (obj.reason[:80] + "…") if len(obj.reason) > 80 else obj.reason
