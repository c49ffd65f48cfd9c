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
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
from django.db import connection, models
from django.db.models.options import Options


def _values(objs, field: models.Field) -> tuple[list, str]:
    """The column's values for ``objs`` and the array cast to send them with. A binary array holds one Python
    type, so a column's values are made one: a decimal column's ``0`` default becomes ``Decimal(0)``."""
    if isinstance(field, models.JSONField):
        return [json.dumps(getattr(obj, field.attname)) for obj in objs], "text[]"
    values = [getattr(obj, field.attname) for obj in objs]
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    one = _ONE_TYPE.get(target.get_internal_type())
    if one is not None:
        kind, convert = one
        values = [v if v is None or type(v) is kind else convert(v) for v in values]
    return values, f"{_base_type(field)}[]"


def _exact_decimal(value: object) -> Decimal:
    if isinstance(value, float):  # money is never a float (invariant 8): refuse rather than round
        raise TypeError(f"a float ({value!r}) for a decimal column")
    return Decimal(value)  # type: ignore[arg-type]


_ONE_TYPE: dict[str, tuple[type, Callable[[Any], Any]]] = {
    "DecimalField": (Decimal, _exact_decimal),
    "CharField": (str, str),
    "TextField": (str, str),
    "UUIDField": (uuid.UUID, lambda v: uuid.UUID(str(v))),
}


def column(meta: Options, name: str) -> models.Field:
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
    columns = [column(meta, name) for name in fields]
    arrays, casts = [], []
    for field in [pk, *columns]:
        values, cast = _values(objs, field)
        arrays.append(values)
        casts.append(f"%b::{cast}")
    sets = ", ".join(f'"{f.column}" = {_cast(f, f"v.{chr(34)}{f.column}{chr(34)}")}' for f in columns)
    names = ", ".join(f'"{f.column}"' for f in [pk, *columns])
    sql = " ".join(
        [
            f'UPDATE "{meta.db_table}" AS t SET {sets}',  # noqa: S608 - identifiers from model metadata; values are parameters
            f"FROM unnest({', '.join(casts)}) AS v({names})",
            f'WHERE t."{pk.column}" = v."{pk.column}"',
        ]
    )
    _execute(sql, arrays)


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
        casts.append(f"%b::{cast}")
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
    rows = _execute(sql, arrays, fetch=returning)
    return [row[0] for row in rows] if returning else []


def _execute(sql: str, arrays: list[list], *, fetch: bool = False) -> list[tuple]:
    """Run one statement with the column arrays sent in PostgreSQL's binary format: psycopg's text format
    quotes and escapes every element of every array with regular expressions, which cost a rating batch more
    than the rest of the statement (bench/README.md, WhatsApp)."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # server-side binding: %b sends a parameter in binary
        cursor.execute(sql, arrays)
        return cursor.fetchall() if fetch else []


def _base_type(field: models.Field) -> str:
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.BigAutoField):
        return "bigint"
    if isinstance(field, models.AutoField):
        return "integer"
    db_type = field.db_type(connection) or "text"
    return re.sub(r"\s*CHECK.*$", "", db_type, flags=re.IGNORECASE)
