"""Benchmark: the staff console with 100,000 organizations' worth of rows (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saldo_bench_console \\
    DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python bench/console_bench.py [--orgs 100000]

Creates a throw-away test database (``test_<name>``), fills it with set-based SQL (``generate_series``):
``--orgs`` organizations, each with an owner, a balance row, a lot, 10 ledger rows, a paid purchase with its
payment session and invoice, an audit entry and 2 WhatsApp conversations, then ANALYZE. Then, logged in as a
superuser, it opens the admin home, the busiest changelists (first page, a search and the organization
filter used by the organization page's links), an organization page and one organization's ledger CSV, three
times each, and prints the median time and the number of queries. Target: every page under 500 ms and a
number of queries that does not depend on the number of rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

FILL = """
INSERT INTO accounts_organization (id, name, slug, legal_name, npwp, address, invoice_email, low_balance_threshold,
                                   api_suspended, created_at)
SELECT md5('org' || i)::uuid, 'Organization ' || i, 'org-' || i, 'PT Organization ' || i, '01.234.567.8-999.000',
       'Jl. Thamrin ' || i, 'finance@org' || i || '.example', 1000, i %% 500 = 0, now() - (i %% 700) * interval '1 day'
FROM generate_series(1, %(n)s) i;

INSERT INTO accounts_user (password, is_superuser, email, full_name, is_staff, is_active, date_joined)
SELECT '!', false, 'owner' || i || '@org.example', 'Owner ' || i, false, true, now()
FROM generate_series(1, %(n)s) i;

INSERT INTO accounts_membership (role, created_at, user_id, organization_id)
SELECT 'owner', now(), u.id, md5('org' || substr(u.email, 6, strpos(u.email, '@') - 6))::uuid
FROM accounts_user u WHERE u.email LIKE 'owner%%@org.example';

INSERT INTO credits_creditlot (id, source, credits, remaining, granted_at, expires_at, reason, reference, created_at,
                               organization_id)
SELECT md5('lot' || i)::uuid, 'purchase', 10000, 10000 - 50 * 9, now() - (i %% 25) * interval '1 day',
       now() + (30 - i %% 25) * interval '1 day', '', 'bench-' || i, now(), md5('org' || i)::uuid
FROM generate_series(1, %(n)s) i;

INSERT INTO credits_creditbalance (organization_id, balance, updated_at)
SELECT md5('org' || i)::uuid, 10000 - 50 * 9, now() - (i %% 60) * interval '1 day' FROM generate_series(1, %(n)s) i;

INSERT INTO credits_ledgerentry (kind, delta, balance_after, reference, reason, created_at, lot_id, organization_id)
SELECT CASE WHEN k = 0 THEN 'purchase' ELSE 'usage' END, CASE WHEN k = 0 THEN 10000 ELSE -50 END,
       10000 - 50 * k, 'bench-' || i || '-' || k, '', now() - (i %% 25) * interval '1 day' + k * interval '1 hour',
       md5('lot' || i)::uuid, md5('org' || i)::uuid
FROM generate_series(1, %(n)s) i, generate_series(0, 9) k;

INSERT INTO invoices_invoice (id, kind, status, number, created_at, issued_at, paid_at, void_reason, payment_reference,
                             subtotal, tax, total, currency, buyer_name, buyer_legal_name, buyer_npwp, buyer_address,
                             buyer_email, seller_name, seller_npwp, seller_address, seller_email, reference, pdf,
                             pdf_status, email_attempts, email_error, organization_id)
SELECT md5('inv' || i)::uuid, 'purchase', 'paid', 'BENCH/' || lpad(i::text, 7, '0'), t, t, t, '', 'bench',
       1000000, 110000, 1110000, 'IDR', 'Organization ' || i, '', '', '', '', 'Saldo', '', '', '', '', '', '', 0, '',
       md5('org' || i)::uuid
FROM (SELECT i, now() - (i %% 90) * interval '1 day' AS t FROM generate_series(1, %(n)s) i) s;

INSERT INTO billing_purchase (id, credits, unit_price, subtotal, tax_rate, tax, total, status, gateway, order_id,
                              gateway_ref, idempotency_key, billing_snapshot, created_at, paid_at, paid_amount,
                              review_reason, review_outcome, review_note, clawed_back_credits, owed_credits,
                              invoice_id, lot_id, organization_id)
SELECT md5('pur' || i)::uuid, 10000, 100, 1000000, 0.11, 110000, 1110000,
       CASE WHEN i %% 1000 = 0 THEN 'needs_review' ELSE 'paid' END, 'sandbox', 'BENCH-' || i, 'BENCH-' || i,
       'bench-' || i, '{}', now() - (i %% 90) * interval '1 day', now(), 1110000,
       CASE WHEN i %% 1000 = 0 THEN 'amount_mismatch' ELSE '' END, '', '', 0, 0,
       md5('inv' || i)::uuid, md5('lot' || i)::uuid, md5('org' || i)::uuid
FROM generate_series(1, %(n)s) i;

INSERT INTO billing_paymentsession (id, gateway, gateway_ref, redirect_url, status, created_at, expires_at, purchase_id)
SELECT md5('ses' || i)::uuid, 'sandbox', 'BENCH-' || i, 'https://pay.example.test/' || i,
       CASE WHEN i %% 100 = 0 THEN 'pending' ELSE 'paid' END, now(), now() + interval '1 day', md5('pur' || i)::uuid
FROM generate_series(1, %(n)s) i;

INSERT INTO accounts_auditentry (created_at, action, target_type, target_id, target_repr, before, after, reason,
                                 organization_id)
SELECT now() - (i %% 90) * interval '1 day', 'credits.grant', 'credits.CreditLot', md5('lot' || i), 'lot ' || i,
       '{}', '{}', 'bench', md5('org' || i)::uuid
FROM generate_series(1, %(n)s) i;

INSERT INTO conversations_conversation (id, phone_number_id, waba_id, pricing_model, key, message_id, customer, country,
                                        calling_code, market, category, meta_category, opened_at, month, rated_price,
                                        price, free_reason, created_at, organization_id)
SELECT md5('conv' || i || '-' || k)::uuid, 'pn-' || i, 'waba-' || i, 'PMP', 'wamid.' || i || '.' || k, '',
       '62812' || lpad(i::text, 7, '0'), 'ID', 62, 'ID', 'marketing', 'marketing', now(),
       date_trunc('month', now() AT TIME ZONE 'Asia/Jakarta')::date, 657, 657, '', now(), md5('org' || i)::uuid
FROM generate_series(1, %(n)s) i, generate_series(1, 2) k;

ANALYZE;
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=100_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_databases, setup_test_environment, teardown_databases

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        print("PostgreSQL only: set DATABASE_URL")
        return 2
    settings.ALLOWED_HOSTS = ["testserver"]
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from accounts.models import Organization, User

        start = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in FILL.split(";\n"):
                if statement.strip():
                    cursor.execute(statement, {"n": args.orgs})
        print(f"filled {args.orgs:,} organizations in {time.perf_counter() - start:.1f} s")

        admin = User.objects.create_superuser(email="bench@saldo.local", password="bench-password-1")
        client = Client()
        client.force_login(admin)
        org = Organization.objects.get(slug=f"org-{args.orgs // 2}")
        settings.SALDO_CONSOLE_CACHE_SECONDS = 60  # as in production: the home's figures are shared for 60 s
        pages = [
            "/admin/?refresh=1",
            "/admin/",
            "/admin/accounts/organization/",
            "/admin/accounts/organization/?q=Organization+4242",
            f"/admin/accounts/organization/{org.pk}/change/",
            "/admin/accounts/user/",
            "/admin/accounts/auditentry/",
            f"/admin/accounts/auditentry/?organization__id__exact={org.pk}",
            "/admin/credits/creditbalance/",
            "/admin/credits/creditlot/",
            "/admin/credits/ledgerentry/",
            f"/admin/credits/ledgerentry/?organization__id__exact={org.pk}",
            "/admin/credits/ledgerentry/?kind__exact=usage",
            "/admin/billing/purchase/",
            "/admin/billing/purchasereview/",
            "/admin/billing/paymentsession/?status__exact=pending",
            "/admin/billing/invoice/",
            f"/admin/billing/invoice/?organization__id__exact={org.pk}",
            "/admin/conversations/conversation/",
            f"/admin/accounts/organization/{org.pk}/ledger.csv",
        ]
        print(f"{'page':<78} {'median ms':>9} {'queries':>7}")
        worst = 0.0
        for url in pages:
            times, queries = [], 0
            for _ in range(3):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    response = client.get(url)
                    if response.streaming:
                        b"".join(response.streaming_content)
                    times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (url, response.status_code)
                queries = len(ctx.captured_queries)
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"{url[:78]:<78} {median:9.0f} {queries:7d}")
        print(f"slowest page: {worst:.0f} ms (target < 500 ms)")
    finally:
        teardown_databases(old, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
