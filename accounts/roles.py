"""Staff roles as permission groups. Each rule is a list of ``app_label.model`` patterns per action; the
groups are rebuilt from these rules by a migration and after every ``migrate`` (so new models are covered).

- Finance: purchases, invoices, refunds, exports, grants — changes money, sees everything it needs.
- Support: organizations, memberships, API keys, usage and conversations — money is read-only.
- Superuser: everything (for staff who are not Django superusers but run the whole back office).
"""

from __future__ import annotations

from fnmatch import fnmatch

from django.apps import apps
from django.contrib.auth.models import Group, Permission

MONEY_APPS = ["credits.*", "invoices.*", "billing.*"]
EVERYTHING = [
    "accounts.*",
    "credits.*",
    "invoices.*",
    "billing.*",
    "conversations.*",
    "events.*",
    "console.*",
    "django_celery_beat.*",
]

ROLES: dict[str, dict[str, list[str]]] = {
    "Finance": {
        "view": [
            "accounts.organization",
            "accounts.membership",
            "accounts.user",
            "accounts.auditentry",
            "console.jobheartbeat",
            *MONEY_APPS,
            "conversations.*",
        ],
        "add": [*MONEY_APPS, "conversations.ratecard"],
        "change": [*MONEY_APPS, "conversations.ratecard", "conversations.monthlystatement"],
        "delete": [],
        # Custom permissions (Meta.permissions) of the money apps: grant credits, review payments, export...
        "custom": [*MONEY_APPS, "conversations.*"],
    },
    "Support": {
        "view": ["accounts.*", *MONEY_APPS, "conversations.*", "events.*", "console.*"],
        "add": ["accounts.invitation", "accounts.membership", "conversations.whatsappnumber"],
        "change": [
            "accounts.organization",
            "accounts.membership",
            "accounts.user",
            "accounts.apikey",
            "accounts.invitation",
            "conversations.whatsappnumber",
            "conversations.conversation",
            "conversations.webhookevent",
            "conversations.*event*",
            "events.webhookendpoint",
            "events.delivery",
        ],
        "delete": ["accounts.invitation"],
        "custom": ["accounts.*", "conversations.reprocess*", "conversations.resolve*"],
    },
    "Superuser": {
        "view": EVERYTHING,
        "add": EVERYTHING,
        "change": EVERYTHING,
        "delete": ["accounts.invitation", "accounts.membership", "django_celery_beat.*"],
        "custom": EVERYTHING,
    },
}
STANDARD_ACTIONS = ("view", "add", "change", "delete")


def _matches(label: str, patterns: list[str]) -> bool:
    return any(fnmatch(label, pattern) for pattern in patterns)


def permissions_for(role: str, permissions) -> list:
    """The subset of ``permissions`` (Permission rows with content_type loaded) that ``role`` gets."""
    rules = ROLES[role]
    chosen = []
    for perm in permissions:
        label = f"{perm.content_type.app_label}.{perm.content_type.model}"
        action = perm.codename.split("_", 1)[0]
        is_standard = action in STANDARD_ACTIONS and perm.codename == f"{action}_{perm.content_type.model}"
        if is_standard:
            if _matches(label, rules[action]):
                chosen.append(perm)
        elif _matches(label, rules["custom"]) or _matches(
            f"{perm.content_type.app_label}.{perm.codename}", rules["custom"]
        ):
            chosen.append(perm)
    return chosen


def sync_roles(group_model, permission_model) -> None:
    """Create the role groups and set exactly their permissions. Idempotent."""
    permissions = list(permission_model.objects.select_related("content_type"))
    for role in ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role, permissions))


def sync_roles_after_migrate(sender, **kwargs) -> None:
    # post_migrate is sent once per app, in INSTALLED_APPS order: wait until every app has its permissions.
    if sender is not list(apps.get_app_configs())[-1]:
        return

    sync_roles(Group, Permission)
