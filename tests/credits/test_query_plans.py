"""The replay look-ups must go through the unique (organization, message_id) index whatever the statistics
say. With a second index leading on organization_id, PostgreSQL (statistics still describing an almost empty
organization) chose it and filtered every usage row of the organization for each message_id."""

import pytest
from django.db import connection

from credits.services import _EXISTING_BATCH_SQL, usage_charge

pytestmark = [pytest.mark.django_db]


def _plan(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_it_probes_the_unique_index_for_each_message_id_in_a_batch(organization, grant):
    grant(organization, 5)
    for n in range(3):
        usage_charge(organization=organization, message_id=f"m-{n}", direction="inbound")
    plan = _plan(_EXISTING_BATCH_SQL, [[f"m-{n}" for n in range(1000)], organization.pk])
    assert "usage_unique_message_id" in plan
    after = plan.split("usage_unique_message_id", 1)[1]
    assert "Index Cond" in after and "(m.id)" in after.split("Filter")[0]  # probed by id, not filtered
    assert "Hash Join" not in plan


def test_it_leaves_no_other_index_that_serves_organization_id_alone():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'credits_messageusage'")
        indexes = dict(cursor.fetchall())
    leading_org = [name for name, ddl in indexes.items() if "btree (organization_id" in ddl]
    assert leading_org == ["usage_unique_message_id"], indexes


def test_the_usage_chart_reads_through_its_index(organization):
    from credits.selectors import _usage_of

    sql, params = (
        _usage_of(organization).filter(charged_at__gte="2026-01-01T00:00:00Z").values("id").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert "usage_orgtext_charged_idx" in _plan(sql, params)
