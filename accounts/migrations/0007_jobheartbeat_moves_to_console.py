"""JobHeartbeat now belongs to the console app (console 0001 renamed its table): forget it here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_organization_search_trigram"),
        ("console", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel("JobHeartbeat")]),
    ]
