"""The keys' BRIN index summarizes each range as it fills (an autovacuum work item), so the prune's search does not
read every key written since the last vacuum. ALTER INDEX ... SET only changes the index's options, in a moment;
RemoveIndex + AddIndex would rebuild it, holding up charges for a scan of the whole window."""

import django.contrib.postgres.indexes
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0011_ledger_description_code"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER INDEX usage_key_charged_brin SET (autosummarize = on)",
                    "ALTER INDEX usage_key_charged_brin RESET (autosummarize)",
                ),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="messageusagekey", name="usage_key_charged_brin"),
                migrations.AddIndex(
                    model_name="messageusagekey",
                    index=django.contrib.postgres.indexes.BrinIndex(
                        autosummarize=True, fields=["charged_at"], name="usage_key_charged_brin"
                    ),
                ),
            ],
        ),
    ]
