import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from credits.models import CreditLot, LedgerEntry
from credits.selectors import balance_for
from credits.services import usage_charge

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_an_honest_empty_state(owner_client):
    r = owner_client.get("/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "No credits yet" in body
    assert "usage-chart" not in body


def test_the_dashboard_shows_balance_lots_chart_and_ledger(owner_client, organization, grant):
    grant(organization, 1200, days=2)
    grant(organization, 5000, days=25)
    for i in range(3):
        usage_charge(organization=organization, message_id=f"m{i}", direction="outbound")
    r = owner_client.get("/")
    body = r.content.decode()
    assert r.context["balance"] == 6197
    assert "6.197" in body
    assert [lot.remaining for lot in r.context["lots"]] == [1197, 5000]
    assert r.context["lots"][0].expiring_soon and "expires in" in body
    assert "usage-chart" in body and "chart-4.6.1.umd.min.js" in body
    assert r.context["chart"]["outbound"][-1] == 3
    assert len(r.context["chart"]["labels"]) == 30
    assert "/credits/ledger.csv" in body


def test_the_dashboard_is_scoped_to_the_current_organization(owner_client, other_organization, grant):
    grant(other_organization, 7777)
    r = owner_client.get("/")
    body = r.content.decode()
    # As the page would print it (a bare "777" can turn up inside an id on the page by chance).
    assert r.context["balance"] == 0 and "7.777" not in body and "7,777" not in body


def test_the_dashboard_requires_login(client):
    assert client.get("/").status_code == 302


def test_the_ledger_csv_exports_every_entry_of_the_organization(owner_client, organization, other_organization, grant):
    grant(organization, 10)
    grant(other_organization, 99)
    usage_charge(organization=organization, message_id="wamid.1", direction="inbound")
    r = owner_client.get("/credits/ledger.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode("utf-8-sig"))))
    assert [(row["kind"], row["delta"], row["balance_after"]) for row in rows] == [
        ("grant", "10", "10"),
        ("usage", "-1", "9"),
    ]
    assert rows[1]["reference"] == "wamid.1"


def test_the_admin_shows_lots_and_ledger_read_only(client, staff, organization, grant):
    lot = grant(organization, 10)
    client.force_login(staff)
    for name in ("creditlot", "ledgerentry", "messageusage", "creditbalance"):
        assert client.get(f"/admin/credits/{name}/").status_code == 200
        assert client.get(f"/admin/credits/{name}/add/").status_code == 403
    entry = LedgerEntry.objects.get()
    r = client.get(f"/admin/credits/ledgerentry/{entry.pk}/change/")
    assert r.status_code == 200 and b'name="delta"' not in r.content
    assert client.post(f"/admin/credits/ledgerentry/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/admin/credits/creditlot/{lot.pk}/delete/").status_code == 403
    r = client.get("/admin/credits/creditbalance/")
    assert b"10" in r.content and b"Grant or adjust credits" in r.content


def test_the_admin_grant_form_requires_a_reason_and_writes_an_audit_entry(client, staff, organization):
    client.force_login(staff)
    url = "/admin/credits/creditbalance/adjust/"
    assert client.get(url).status_code == 200
    r = client.post(url, {"organization": organization.pk, "kind": "grant", "credits": 500, "reason": "  "})
    assert r.status_code == 200 and not CreditLot.objects.exists()
    r = client.post(
        url, {"organization": organization.pk, "kind": "grant", "credits": 500, "reason": "promo", "valid_days": 7}
    )
    assert r.status_code == 302
    lot = CreditLot.objects.get()
    assert (lot.source, lot.credits, lot.created_by) == ("grant", 500, staff)
    assert lot.expires_at - lot.granted_at == timedelta(days=7)
    audit = AuditEntry.objects.get()
    assert (audit.action, audit.actor, audit.reason, audit.before, audit.after["balance"]) == (
        "credits.grant",
        staff,
        "promo",
        {"balance": 0},
        500,
    )


def test_the_admin_adjust_form_takes_credits_and_refuses_too_much(client, staff, organization, grant):
    grant(organization, 100)
    client.force_login(staff)
    url = "/admin/credits/creditbalance/adjust/"
    r = client.post(url, {"organization": organization.pk, "kind": "adjust", "credits": -500, "reason": "fix"})
    assert r.status_code == 200 and balance_for(organization) == 100
    assert not AuditEntry.objects.exists()
    r = client.post(url, {"organization": organization.pk, "kind": "adjust", "credits": -40, "reason": "double grant"})
    assert r.status_code == 302 and balance_for(organization) == 60
    assert AuditEntry.objects.get().action == "credits.adjust"
    assert LedgerEntry.objects.filter(kind="adjustment").get().delta == -40


def test_a_grant_cannot_be_negative_in_the_admin(client, staff, organization):
    client.force_login(staff)
    r = client.post(
        "/admin/credits/creditbalance/adjust/",
        {"organization": organization.pk, "kind": "grant", "credits": -5, "reason": "x"},
    )
    assert r.status_code == 200 and not LedgerEntry.objects.exists()


def test_non_staff_cannot_open_the_adjust_form(owner_client):
    assert owner_client.get("/admin/credits/creditbalance/adjust/").status_code == 302


def test_lot_days_left_is_shown(owner_client, organization, grant):
    grant(organization, 10, days=20)
    r = owner_client.get("/")
    assert r.context["lots"][0].days_left in (19, 20)
    assert timezone.now() < r.context["lots"][0].expires_at
