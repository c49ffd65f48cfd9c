"""JobHeartbeat moved from accounts to console by renaming its table: rows, and the content type that the
admin's history and permissions point at, survive the move and come back if it is undone."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("console", None), ("accounts", "0006_organization_search_trigram")]
AFTER = [("accounts", "0007_jobheartbeat_moves_to_console")]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state([t for t in target if t[1]]).apps


def test_the_move_keeps_the_rows_and_the_content_type():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        old.get_model("accounts", "JobHeartbeat").objects.create(name="expire lots", task="t", max_age_seconds=900)
        ContentType = old.get_model("contenttypes", "ContentType")
        ContentType.objects.filter(model="jobheartbeat").delete()
        type_id = ContentType.objects.create(app_label="accounts", model="jobheartbeat").pk

        new = migrate(AFTER)
        assert new.get_model("console", "JobHeartbeat").objects.get().name == "expire lots"
        assert new.get_model("contenttypes", "ContentType").objects.get(pk=type_id).app_label == "console"

        back = migrate(BEFORE)
        assert back.get_model("accounts", "JobHeartbeat").objects.get().name == "expire lots"
        assert back.get_model("contenttypes", "ContentType").objects.get(pk=type_id).app_label == "accounts"
    finally:
        migrate(latest)
