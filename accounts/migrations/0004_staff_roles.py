"""Create the staff roles (Finance, Support, Superuser) as permission groups.

Permissions are normally created after ``migrate`` finishes (post_migrate); on a fresh database they do not
exist yet when this runs, so it creates them for every app first, then applies ``accounts.roles``. The
post_migrate hook in ``accounts.apps`` re-syncs the groups after every later migrate, so models added
afterwards are covered too.
"""

from django.db import migrations


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from accounts.roles import sync_roles

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
    sync_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_roles(apps, schema_editor):
    from accounts.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_job_heartbeat"),
        ("auth", "__latest__"),
        ("contenttypes", "__latest__"),
        ("admin", "__latest__"),
        ("django_celery_beat", "__latest__"),
        ("credits", "0003_staff_console_indexes"),
        ("billing", "0005_staff_console_indexes"),
        ("conversations", "0002_seed_rate_cards"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
