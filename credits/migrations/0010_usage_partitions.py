"""Bounded usage storage (issue 20).

- credits_messageusage becomes a table range-partitioned by local month of charged_at (primary key (id, charged_at),
  as partitioning requires), with a DEFAULT partition and one partition per month from the oldest row to
  USAGE_PARTITIONS_AHEAD months ahead; credits.partitions keeps it so afterwards (a daily Celery job).
- Exactly-once moves to credits_messageusagekey: unique (organization_id, message_id), not partitioned, pruned after
  the deduplication window. Its primary key replaces the usage table's unique index; nothing else reads message_id.
- credits_usageday: messages per organization, local day and direction, written in the charge's transaction, so the
  chart never reads usage rows and stays exact when old partitions are exported and dropped.
- The usage log loses its foreign-key constraints (two per-row triggers per charge; organizations and lots are
  never deleted).
- saldo_usage_charge writes the three tables and refuses a message older than the window (column "expired").

Existing rows are copied: every key (the prune job trims them later) and the per-day counts.
"""

import django.contrib.postgres.indexes
from importlib import import_module
import django.db.models.deletion
from django.db import migrations, models


PREVIOUS_FUNCTION = import_module("credits.migrations.0009_usage_spendable_after").FUNCTION

FUNCTION = """
DROP FUNCTION IF EXISTS saldo_usage_charge(uuid, text, text, timestamptz, timestamptz);
CREATE OR REPLACE FUNCTION saldo_usage_charge(
    p_org uuid, p_mid text, p_dir text, p_occ timestamptz, p_now timestamptz, p_day date, p_window_from timestamptz
) RETURNS TABLE(
    charged_balance bigint, e_direction text, e_occurred_at timestamptz, e_balance bigint, expired boolean
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_bal bigint;
    v_lot uuid;
    v_stale bigint;
    v_after bigint;
BEGIN
    IF p_occ IS NOT NULL AND p_occ < p_window_from THEN
        -- Older than the deduplication window: a replay while its key is still kept, otherwise refused (it can
        -- no longer be proven new). Nothing is written, so no lock is needed.
        RETURN QUERY SELECT NULL::bigint, k.direction::text, k.occurred_at, k.spendable_after, false
            FROM credits_messageusagekey k WHERE k.organization_id = p_org AND k.message_id = p_mid;
        IF NOT FOUND THEN
            RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::timestamptz, NULL::bigint, true;
        END IF;
        RETURN;
    END IF;
    SELECT b.balance INTO v_bal FROM credits_creditbalance b WHERE b.organization_id = p_org FOR UPDATE;
    IF FOUND THEN
        -- Spendable: credits left and not expired (CreditLotQuerySet.spendable), soonest-expiring first.
        SELECT l.id INTO v_lot FROM credits_creditlot l
        WHERE l.organization_id = p_org AND l.remaining > 0 AND l.expires_at > p_now
        ORDER BY l.expires_at, l.id LIMIT 1;
        IF v_lot IS NOT NULL THEN
            -- Expired but not yet swept (CreditLotQuerySet.expired_unswept): still in the balance row.
            SELECT COALESCE(SUM(l.remaining), 0) INTO v_stale FROM credits_creditlot l
            WHERE l.organization_id = p_org AND l.remaining > 0 AND l.expires_at <= p_now;
            INSERT INTO credits_messageusagekey
                (organization_id, message_id, direction, occurred_at, spendable_after, charged_at)
            VALUES (p_org, p_mid, p_dir, p_occ, v_bal - 1 - v_stale, p_now)
            ON CONFLICT (organization_id, message_id) DO NOTHING
            RETURNING spendable_after INTO v_after;
            IF v_after IS NOT NULL THEN
                INSERT INTO credits_messageusage
                    (organization_id, message_id, direction, occurred_at, charged_at, credits, lot_id, spendable_after)
                VALUES (p_org, p_mid, p_dir, p_occ, p_now, 1, v_lot, v_after);
                UPDATE credits_creditlot SET remaining = remaining - 1 WHERE id = v_lot;
                UPDATE credits_creditbalance SET balance = v_bal - 1, updated_at = p_now WHERE organization_id = p_org;
                INSERT INTO credits_ledgerentry
                    (organization_id, kind, delta, balance_after, lot_id, reference, reason, created_at)
                VALUES (p_org, 'usage', -1, v_bal - 1, v_lot, p_mid, '', p_now);
                INSERT INTO credits_usageday (organization_id, day, direction, messages) VALUES (p_org, p_day, p_dir, 1)
                ON CONFLICT (organization_id, day, direction) DO UPDATE SET messages = credits_usageday.messages + 1;
                RETURN QUERY SELECT v_after, NULL::text, NULL::timestamptz, NULL::bigint, false;
                RETURN;
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT NULL::bigint, k.direction::text, k.occurred_at, k.spendable_after::bigint, false
        FROM credits_messageusagekey k WHERE k.organization_id = p_org AND k.message_id = p_mid;
END;
$$;
"""

DROP_FUNCTION = "DROP FUNCTION IF EXISTS saldo_usage_charge(uuid, text, text, timestamptz, timestamptz, date, timestamptz);"

COLUMNS = "id, message_id, direction, occurred_at, charged_at, credits, lot_id, organization_id, spendable_after"

FORWARD = f"""
ALTER TABLE credits_messageusage RENAME TO credits_messageusage_old;
ALTER INDEX credits_messageusage_pkey RENAME TO credits_messageusage_old_pkey;
ALTER TABLE credits_messageusage_old RENAME CONSTRAINT usage_unique_message_id TO usage_unique_message_id_old;
ALTER INDEX usage_orgtext_charged_idx RENAME TO usage_orgtext_charged_idx_old;

CREATE TABLE credits_messageusage (
    id bigint NOT NULL,
    message_id varchar(128) NOT NULL,
    direction varchar(8) NOT NULL,
    occurred_at timestamptz NULL,
    charged_at timestamptz NOT NULL,
    credits integer NOT NULL,
    lot_id uuid NULL,
    organization_id uuid NOT NULL,
    spendable_after bigint NOT NULL,
    CONSTRAINT credits_messageusage_pkey PRIMARY KEY (id, charged_at)
) PARTITION BY RANGE (charged_at);
CREATE INDEX usage_org_charged_idx ON credits_messageusage (organization_id, charged_at);
CREATE TABLE credits_messageusage_default PARTITION OF credits_messageusage DEFAULT;

CREATE TABLE credits_messageusagekey (
    organization_id uuid NOT NULL,
    message_id varchar(128) NOT NULL,
    direction varchar(8) NOT NULL,
    occurred_at timestamptz NULL,
    spendable_after bigint NOT NULL,
    charged_at timestamptz NOT NULL,
    CONSTRAINT credits_messageusagekey_pkey PRIMARY KEY (organization_id, message_id)
);
CREATE INDEX usage_key_charged_brin ON credits_messageusagekey USING brin (charged_at);

CREATE TABLE credits_usageday (
    organization_id uuid NOT NULL,
    day date NOT NULL,
    direction varchar(8) NOT NULL,
    messages bigint NOT NULL DEFAULT 0,
    CONSTRAINT credits_usageday_pkey PRIMARY KEY (organization_id, day, direction)
);
CREATE INDEX usage_day_idx ON credits_usageday (day);

INSERT INTO credits_messageusage ({COLUMNS}) SELECT {COLUMNS} FROM credits_messageusage_old;
INSERT INTO credits_messageusagekey (organization_id, message_id, direction, occurred_at, spendable_after, charged_at)
    SELECT organization_id, message_id, direction, occurred_at, spendable_after, charged_at FROM credits_messageusage_old;
INSERT INTO credits_usageday (organization_id, day, direction, messages)
    SELECT organization_id, (charged_at AT TIME ZONE %(tz)s)::date, direction, sum(credits)
    FROM credits_messageusage_old GROUP BY 1, 2, 3;
DROP TABLE credits_messageusage_old;

CREATE SEQUENCE credits_messageusage_id_seq OWNED BY credits_messageusage.id;
ALTER TABLE credits_messageusage ALTER COLUMN id SET DEFAULT nextval('credits_messageusage_id_seq');
SELECT setval('credits_messageusage_id_seq', COALESCE((SELECT max(id) FROM credits_messageusage), 0) + 1, false);
"""

BACKWARD = f"""
ALTER TABLE credits_messageusage RENAME TO credits_messageusage_parted;
ALTER INDEX credits_messageusage_pkey RENAME TO credits_messageusage_parted_pkey;
ALTER INDEX usage_org_charged_idx RENAME TO usage_org_charged_idx_parted;
CREATE TABLE credits_messageusage (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    message_id varchar(128) NOT NULL,
    direction varchar(8) NOT NULL,
    occurred_at timestamptz NULL,
    charged_at timestamptz NOT NULL,
    credits integer NOT NULL,
    lot_id uuid NULL REFERENCES credits_creditlot (id) DEFERRABLE INITIALLY DEFERRED,
    organization_id uuid NOT NULL REFERENCES accounts_organization (id) DEFERRABLE INITIALLY DEFERRED,
    spendable_after bigint NOT NULL,
    CONSTRAINT usage_unique_message_id UNIQUE (organization_id, message_id)
);
INSERT INTO credits_messageusage ({COLUMNS}) SELECT {COLUMNS} FROM credits_messageusage_parted;
SELECT setval(pg_get_serial_sequence('credits_messageusage', 'id'),
              COALESCE((SELECT max(id) FROM credits_messageusage), 0) + 1, false);
CREATE INDEX usage_orgtext_charged_idx ON credits_messageusage ((organization_id::text), charged_at);
DROP TABLE credits_messageusage_parted;
DROP TABLE credits_messageusagekey;
DROP TABLE credits_usageday;
"""


def forward(apps, schema_editor):
    from django.conf import settings

    from core.months import Month
    from credits.partitions import create_month_partition

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FORWARD, {"tz": settings.TIME_ZONE})
        cursor.execute("SELECT min(charged_at) FROM credits_messageusage")
        (oldest,) = cursor.fetchone()
        from django.utils import timezone

        now = timezone.now()
        tz = timezone.get_default_timezone()
        month = Month.of(min(oldest or now, now), tz)
        last = Month.of(now, tz)
        for _i in range(settings.USAGE_PARTITIONS_AHEAD):
            last = last.next()
        while month <= last:
            create_month_partition(cursor, month)
            month = month.next()
        cursor.execute(FUNCTION)


def backward(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP_FUNCTION)
        cursor.execute(BACKWARD)
        cursor.execute(PREVIOUS_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_jobheartbeat_moves_to_console"),
        ("credits", "0009_usage_spendable_after"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward)],
            state_operations=[
                migrations.CreateModel(
                    name='MessageUsageKey',
                    fields=[
                        ('pk', models.CompositePrimaryKey('organization', 'message_id', blank=True, editable=False, primary_key=True, serialize=False)),
                        ('message_id', models.CharField(max_length=128)),
                        ('direction', models.CharField(max_length=8)),
                        ('occurred_at', models.DateTimeField(blank=True, null=True)),
                        ('spendable_after', models.BigIntegerField()),
                        ('charged_at', models.DateTimeField()),
                    ],
                    options={
                        'verbose_name': 'message usage key',
                        'verbose_name_plural': 'message usage keys',
                    },
                ),
                migrations.CreateModel(
                    name='UsageDay',
                    fields=[
                        ('pk', models.CompositePrimaryKey('organization', 'day', 'direction', blank=True, editable=False, primary_key=True, serialize=False)),
                        ('day', models.DateField()),
                        ('direction', models.CharField(max_length=8)),
                        ('messages', models.BigIntegerField(default=0)),
                    ],
                    options={
                        'verbose_name': 'usage per day',
                        'verbose_name_plural': 'usage per day',
                    },
                ),
                migrations.RemoveConstraint(
                    model_name='messageusage',
                    name='usage_unique_message_id',
                ),
                migrations.RemoveIndex(
                    model_name='messageusage',
                    name='usage_orgtext_charged_idx',
                ),
                migrations.AlterField(
                    model_name='messageusage',
                    name='lot',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='usage', to='credits.creditlot'),
                ),
                migrations.AlterField(
                    model_name='messageusage',
                    name='organization',
                    field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='message_usage', to='accounts.organization'),
                ),
                migrations.AddIndex(
                    model_name='messageusage',
                    index=models.Index(fields=['organization', 'charged_at'], name='usage_org_charged_idx'),
                ),
                migrations.AddField(
                    model_name='messageusagekey',
                    name='organization',
                    field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.organization'),
                ),
                migrations.AddField(
                    model_name='usageday',
                    name='organization',
                    field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.organization'),
                ),
                migrations.AddIndex(
                    model_name='messageusagekey',
                    index=django.contrib.postgres.indexes.BrinIndex(fields=['charged_at'], name='usage_key_charged_brin'),
                ),
                migrations.AddIndex(
                    model_name='usageday',
                    index=models.Index(fields=['day'], name='usage_day_idx'),
                ),
            ],
        ),
    ]
