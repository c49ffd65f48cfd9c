"""JobHeartbeat moves from accounts to console (it is the console's /healthz data): the table is renamed, not
recreated, and its content type follows so permissions and admin history keep pointing at it."""

import django.utils.timezone
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="console", model="jobheartbeat").exists():
        ContentType.objects.filter(app_label="accounts", model="jobheartbeat").update(app_label="console")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="accounts", model="jobheartbeat").exists():
        ContentType.objects.filter(app_label="console", model="jobheartbeat").update(app_label="accounts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0006_organization_search_trigram"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE accounts_jobheartbeat RENAME TO console_jobheartbeat",
                    "ALTER TABLE console_jobheartbeat RENAME TO accounts_jobheartbeat",
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="JobHeartbeat",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("task", models.CharField(db_index=True, max_length=200)),
                        ("max_age_seconds", models.PositiveIntegerField()),
                        ("registered_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_success_at", models.DateTimeField(blank=True, null=True)),
                        ("last_failure_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.TextField(blank=True)),
                    ],
                    options={
                        "verbose_name": "periodic job heartbeat",
                        "verbose_name_plural": "periodic job heartbeats",
                        "ordering": ["name"],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
