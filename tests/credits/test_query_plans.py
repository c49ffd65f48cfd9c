"""The replay look-ups must go through the unique (organization, message_id) key whatever the statistics say. With a
second index leading on organization_id, PostgreSQL (statistics still describing an almost empty organization) chose
it and filtered every usage row of the organization for each message_id. The keys now live in their own table
(credits_messageusagekey), whose only btree is that key; the chart reads the per-day counts by their primary key."""

import pytest
from django.db import connection

from credits.models import UsageDay
from credits.services import _EXISTING_BATCH_SQL, usage_charge

pytestmark = [pytest.mark.django_db]


def _plan(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_it_probes_the_unique_key_for_each_message_id_in_a_batch(organization, grant):
    grant(organization, 5)
    for n in range(3):
        usage_charge(organization=organization, message_id=f"m-{n}", direction="inbound")
    plan = _plan(_EXISTING_BATCH_SQL, [[f"m-{n}" for n in range(1000)], organization.pk])
    assert "credits_messageusagekey_pkey" in plan
    after = plan.split("credits_messageusagekey_pkey", 1)[1]
    assert "Index Cond" in after and "(m.id)" in after.split("Filter")[0]  # probed by id, not filtered
    assert "Hash Join" not in plan
    assert "credits_messageusage " not in plan  # never the partitioned usage log


def test_the_key_table_has_no_other_btree_than_its_key():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'credits_messageusagekey'")
        indexes = dict(cursor.fetchall())
    btrees = [name for name, ddl in indexes.items() if "USING btree" in ddl]
    assert btrees == ["credits_messageusagekey_pkey"], indexes
    assert "(organization_id, message_id)" in indexes["credits_messageusagekey_pkey"]


def test_the_usage_chart_reads_the_day_counts_by_their_key(organization):
    sql, params = (
        UsageDay.objects.filter(organization=organization, day__gte="2026-01-01")
        .values("day", "direction", "messages")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        # Other organizations' days, as in production: on an empty table either index looks as cheap and the
        # planner's pick is a coin toss; with data the organization's key is the selective one.
        cursor.execute(
            "INSERT INTO credits_usageday (organization_id, day, direction, messages) "
            "SELECT gen_random_uuid(), DATE '2026-01-01' + d, dir, 10 "
            "FROM generate_series(1, 300) o, generate_series(0, 29) d, unnest(ARRAY['inbound', 'outbound']) dir"
        )
        cursor.execute("ANALYZE credits_usageday")
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert "credits_usageday_pkey" in _plan(sql, params)
