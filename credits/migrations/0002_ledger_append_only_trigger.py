"""Invariant 5 in the database: ledger rows cannot be updated or deleted, whoever asks
(TRUNCATE, used by test teardown and ``flush``, is not a row operation and stays possible)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION credits_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credits_ledgerentry is append-only: UPDATE and DELETE are refused' USING ERRCODE = 'raise_exception';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS credits_ledger_append_only ON credits_ledgerentry;
CREATE TRIGGER credits_ledger_append_only BEFORE UPDATE OR DELETE ON credits_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION credits_ledger_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS credits_ledger_append_only ON credits_ledgerentry;
DROP FUNCTION IF EXISTS credits_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
