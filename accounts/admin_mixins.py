"""Recording of edits staff make through plain admin forms (price lists, rate cards, organizations' billing
details, memberships): who changed which fields from what to what, inlines included.

Django's admin saves a change form inside one ``transaction.atomic()`` (``changeform_view``), so the audit entry
written here commits or rolls back with the edit itself. The entry is written by a service
(``accounts.services.admin_edit_record``), like every other audit entry."""

from __future__ import annotations

from django.contrib import admin
from django.forms.models import model_to_dict

from . import services


def _snapshot(instance, fields) -> dict:
    if instance is None or instance.pk is None:
        return {}
    fields = [f for f in fields if f in {field.name for field in instance._meta.fields}]
    return model_to_dict(instance, fields=fields)


class AuditedAdminMixin(admin.ModelAdmin):
    """Mix into a ``ModelAdmin``: additions, changes (fields and inline rows) and deletions become audit entries."""

    def save_model(self, request, obj, form, change):
        before = _snapshot(type(obj)._default_manager.filter(pk=obj.pk).first() if change else None, form.changed_data)
        super().save_model(request, obj, form, change)
        request._saldo_admin_audit = {
            "instance": obj,
            "action": "change" if change else "add",
            "before": before,
            "after": _snapshot(obj, form.changed_data if change else [f.name for f in obj._meta.fields]),
        }

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        pending = getattr(request, "_saldo_admin_audit", None)
        if pending is None:
            return
        inlines = {}
        for formset in formsets:
            rows = {
                "added": [str(o) for o in formset.new_objects],
                "changed": [f"{o}: {', '.join(fields)}" for o, fields in formset.changed_objects],
                "deleted": [str(o) for o in formset.deleted_objects],
            }
            rows = {k: v for k, v in rows.items() if v}
            if rows:
                inlines[str(formset.model._meta.verbose_name_plural)] = rows
        if pending["action"] == "change" and not pending["before"] and not pending["after"] and not inlines:
            return  # saved without a change
        services.admin_edit_record(
            actor=request.user,
            instance=pending["instance"],
            action=pending["action"],
            before=pending["before"],
            after=pending["after"],
            inlines=inlines,
        )

    def delete_model(self, request, obj):
        services.admin_edit_record(
            actor=request.user, instance=obj, action="delete", before=_snapshot(obj, [f.name for f in obj._meta.fields])
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.admin_edit_record(
                actor=request.user,
                instance=obj,
                action="delete",
                before=_snapshot(obj, [f.name for f in obj._meta.fields]),
            )
        super().delete_queryset(request, queryset)
