"""A set-based UPDATE for the rating worker's hot path.

Django's ``bulk_update`` builds one ``CASE WHEN`` per field and row, which costs more Python than the
whole rating. On PostgreSQL one ``UPDATE ... FROM unnest(arrays)`` does the same in a single statement.
"""

from __future__ import annotations

import json
import re

from django.db import connection, models


def bulk_update(model: type[models.Model], objs: list, fields: list[str]) -> None:
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields, batch_size=500)
        return
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    arrays, casts, sets = [], [], []
    arrays.append([pk.get_db_prep_value(obj.pk, connection) for obj in objs])
    casts.append(f"%s::{_base_type(pk)}[]")
    for field in columns:
        if isinstance(field, models.JSONField):
            arrays.append([json.dumps(getattr(obj, field.attname)) for obj in objs])
            casts.append("%s::text[]")
            sets.append(f'"{field.column}" = v."{field.column}"::jsonb')
        else:
            arrays.append([field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs])
            casts.append(f"%s::{_base_type(field)}[]")
            sets.append(f'"{field.column}" = v."{field.column}"')
    names = ", ".join(f'"{c}"' for c in [pk.column, *(f.column for f in columns)])
    # Only model metadata (table, column and type names) is interpolated; every value is a parameter.
    sql = " ".join(
        [
            f'UPDATE "{meta.db_table}" AS t SET',
            ", ".join(sets),
            f"FROM unnest({', '.join(casts)}) AS v({names})",
            f'WHERE t."{pk.column}" = v."{pk.column}"',
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


def _base_type(field: models.Field) -> str:
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.BigAutoField):
        return "bigint"
    if isinstance(field, models.AutoField):
        return "integer"
    db_type = field.db_type(connection) or "text"
    return re.sub(r"\s*CHECK.*$", "", db_type, flags=re.IGNORECASE)
