"""The single-message charge as one PostgreSQL function, so the API's hot path is one statement (one round
trip, its own transaction) instead of BEGIN, a locking SELECT, the charge and COMMIT.

Inside a VOLATILE plpgsql function each statement takes a fresh snapshot (READ COMMITTED), so after the
balance row is locked the lots are read as they are now, exactly like the separate statements did.
Rules kept: lock the organization's balance row first; spend the soonest-expiring unexpired lot; refuse when
there is none; at most one usage row per (organization, message_id) via the unique constraint; every charge
writes its ledger row. Columns returned: charged balance (shown balance after the charge) or the replayed
usage's direction, occurred_at and balance_after."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION saldo_usage_charge(
    p_org uuid, p_mid text, p_dir text, p_occ timestamptz, p_now timestamptz
) RETURNS TABLE(charged_balance bigint, e_direction text, e_occurred_at timestamptz, e_balance bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_bal bigint;
    v_lot uuid;
    v_stale bigint;
    v_after bigint;
BEGIN
    SELECT b.balance INTO v_bal FROM credits_creditbalance b WHERE b.organization_id = p_org FOR UPDATE;
    IF FOUND THEN
        SELECT l.id INTO v_lot FROM credits_creditlot l
        WHERE l.organization_id = p_org AND l.remaining > 0 AND l.expires_at > p_now
        ORDER BY l.expires_at, l.id LIMIT 1;
        IF v_lot IS NOT NULL THEN
            SELECT COALESCE(SUM(l.remaining), 0) INTO v_stale FROM credits_creditlot l
            WHERE l.organization_id = p_org AND l.remaining > 0 AND l.expires_at <= p_now;
            INSERT INTO credits_messageusage
                (organization_id, message_id, direction, occurred_at, charged_at, credits, lot_id, balance_after)
            VALUES (p_org, p_mid, p_dir, p_occ, p_now, 1, v_lot, v_bal - 1 - v_stale)
            ON CONFLICT ON CONSTRAINT usage_unique_message_id DO NOTHING
            RETURNING balance_after INTO v_after;
            IF v_after IS NOT NULL THEN
                UPDATE credits_creditlot SET remaining = remaining - 1 WHERE id = v_lot;
                UPDATE credits_creditbalance SET balance = v_bal - 1, updated_at = p_now WHERE organization_id = p_org;
                INSERT INTO credits_ledgerentry
                    (organization_id, kind, delta, balance_after, lot_id, reference, reason, created_at)
                VALUES (p_org, 'usage', -1, v_bal - 1, v_lot, p_mid, '', p_now);
                RETURN QUERY SELECT v_after, NULL::text, NULL::timestamptz, NULL::bigint;
                RETURN;
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT NULL::bigint, u.direction::text, u.occurred_at, u.balance_after::bigint
        FROM credits_messageusage u WHERE u.organization_id = p_org AND u.message_id = p_mid;
END;
$$;
"""

DROP = "DROP FUNCTION IF EXISTS saldo_usage_charge(uuid, text, text, timestamptz, timestamptz);"


class Migration(migrations.Migration):
    dependencies = [("credits", "0005_drop_redundant_org_indexes")]

    operations = [migrations.RunSQL(CREATE, DROP)]
