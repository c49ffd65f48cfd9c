"""MessageUsage.balance_after becomes spendable_after: it always held the spendable balance the API answered
(balance row minus expired-unswept lots), which is not what LedgerEntry.balance_after holds (the balance row).
The charge function is recreated to write the renamed column."""

from importlib import import_module

from django.db import migrations, models

# Going back restores the function that writes the old column name.
PREVIOUS_FUNCTION = import_module("credits.migrations.0006_usage_charge_function").CREATE

FUNCTION = """
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
        -- Spendable: credits left and not expired (CreditLotQuerySet.spendable), soonest-expiring first.
        SELECT l.id INTO v_lot FROM credits_creditlot l
        WHERE l.organization_id = p_org AND l.remaining > 0 AND l.expires_at > p_now
        ORDER BY l.expires_at, l.id LIMIT 1;
        IF v_lot IS NOT NULL THEN
            -- Expired but not yet swept (CreditLotQuerySet.expired_unswept): still in the balance row.
            SELECT COALESCE(SUM(l.remaining), 0) INTO v_stale FROM credits_creditlot l
            WHERE l.organization_id = p_org AND l.remaining > 0 AND l.expires_at <= p_now;
            INSERT INTO credits_messageusage
                (organization_id, message_id, direction, occurred_at, charged_at, credits, lot_id, spendable_after)
            VALUES (p_org, p_mid, p_dir, p_occ, p_now, 1, v_lot, v_bal - 1 - v_stale)
            ON CONFLICT ON CONSTRAINT usage_unique_message_id DO NOTHING
            RETURNING spendable_after INTO v_after;
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
    RETURN QUERY SELECT NULL::bigint, u.direction::text, u.occurred_at, u.spendable_after::bigint
        FROM credits_messageusage u WHERE u.organization_id = p_org AND u.message_id = p_mid;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("credits", "0008_usage_chart_index_on_org_text")]

    operations = [
        migrations.RenameField("messageusage", "balance_after", "spendable_after"),
        migrations.AlterField(
            "messageusage", "spendable_after", models.BigIntegerField(verbose_name="spendable balance after")
        ),
        migrations.RunSQL(FUNCTION, PREVIOUS_FUNCTION),
    ]
