"""Set-based writes for the rating worker's hot path.

Django's ``bulk_update`` builds one ``CASE WHEN`` per field and row, and both it and ``bulk_create`` run
every value through the field's ``get_db_prep_save``: for a batch of 500 messages that costs more Python than
the rating itself. One ``UPDATE ... FROM unnest(arrays)`` or ``INSERT ... SELECT * FROM
unnest(arrays)`` does the same in a single statement, with the values handed to psycopg as they are (the
models here only hold str, int, bool, Decimal, date, aware datetime, UUID and JSON lists).
"""

from __future__ import annotations

import json
import re

from django.db import connection, models
from django.db.models.options import Options


def _values(objs, field: models.Field) -> tuple[list, str]:
    """The column's values for ``objs`` and the array cast to send them with."""
    if isinstance(field, models.JSONField):
        return [json.dumps(getattr(obj, field.attname)) for obj in objs], "text[]"
    return [getattr(obj, field.attname) for obj in objs], f"{_base_type(field)}[]"


def _column(meta: Options, name: str) -> models.Field:
    field = meta.get_field(name)
    if not isinstance(field, models.Field):  # a reverse relation has no column to set
        raise TypeError(f"{meta.label}.{name} is not a column")
    return field


def _cast(field: models.Field, ref: str) -> str:
    return f"{ref}::jsonb" if isinstance(field, models.JSONField) else ref


def bulk_update(model: type[models.Model], objs: list, fields: list[str]) -> None:
    if not objs:
        return
    meta = model._meta
    pk = meta.pk
    columns = [_column(meta, name) for name in fields]
    arrays, casts = [], []
    for field in [pk, *columns]:
        values, cast = _values(objs, field)
        arrays.append(values)
        casts.append(f"%s::{cast}")
    sets = ", ".join(f'"{f.column}" = {_cast(f, f"v.{chr(34)}{f.column}{chr(34)}")}' for f in columns)
    names = ", ".join(f'"{f.column}"' for f in [pk, *columns])
    sql = " ".join(
        [
            f'UPDATE "{meta.db_table}" AS t SET {sets}',  # noqa: S608 - identifiers from model metadata; values are parameters
            f"FROM unnest({', '.join(casts)}) AS v({names})",
            f'WHERE t."{pk.column}" = v."{pk.column}"',
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


def bulk_insert_ignore_conflicts(model: type[models.Model], objs: list, *, returning: bool = False) -> list:
    """``bulk_create(objs, ignore_conflicts=True)``, in one statement; with ``returning``, the primary keys of
    the rows actually inserted (a conflict inserts nothing and returns nothing)."""
    if not objs:
        return []
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not isinstance(f, models.AutoField)]
    arrays, casts = [], []
    for field in fields:
        values, cast = _values(objs, field)
        arrays.append(values)
        casts.append(f"%s::{cast}")
    names = ", ".join(f'"{f.column}"' for f in fields)
    selects = ", ".join(_cast(f, f'v."{f.column}"') for f in fields)
    sql = " ".join(
        [
            f'INSERT INTO "{meta.db_table}" ({names})',
            f"SELECT {selects} FROM unnest({', '.join(casts)}) AS v({names})",  # noqa: S608
            "ON CONFLICT DO NOTHING",
            f'RETURNING "{meta.pk.column}"' if returning else "",
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return [row[0] for row in cursor.fetchall()] if returning else []


def _base_type(field: models.Field) -> str:
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.BigAutoField):
        return "bigint"
    if isinstance(field, models.AutoField):
        return "integer"
    db_type = field.db_type(connection) or "text"
    return re.sub(r"\s*CHECK.*$", "", db_type, flags=re.IGNORECASE)
