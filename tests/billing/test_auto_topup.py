"""Auto top-up: off by default; one pending purchase at a time (a partial unique constraint), prepared after
the charge that crosses the threshold commits, audited, e-mailed, shown on the dashboard; no extra query on
the charge path."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import AuditEntry, Organization
from billing.models import OutboundEmail, Purchase
from billing.services.auto_topup import auto_topup_configure, auto_topup_prepare
from billing.services.purchases import PurchaseError
from credits.services import lot_grant, usage_charge


def grant(organization, credits):
    now = timezone.now()
    return lot_grant(
        organization=organization,
        credits=credits,
        source="grant",
        reason="test",
        granted_at=now,
        expires_at=now + timedelta(days=30),
    )


def charge(organization, n=1):
    for _ in range(n):
        usage_charge(organization=organization, message_id=uuid.uuid4().hex, direction="outbound")


def usage_balance(organization):
    from credits.selectors import balance_for

    return balance_for(organization)


def auto_purchases(organization):
    return Purchase.objects.filter(organization=organization, origin=Purchase.Origin.AUTO_TOPUP)


@pytest.mark.django_db
def test_it_is_off_by_default_and_charges_prepare_nothing(organization, owner):
    grant(organization, 1001)
    charge(organization, 5)
    organization.refresh_from_db()
    assert organization.auto_topup_below is None
    assert not auto_purchases(organization).exists()


@pytest.mark.django_db
def test_configuring_it_is_audited_and_validated(organization, owner):
    auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=5000, actor=owner)
    organization.refresh_from_db()
    assert organization.auto_topup_below == 1000
    entry = AuditEntry.objects.get(action="auto_topup.configure")
    assert entry.actor == owner and entry.after == {"enabled": True, "threshold": 1000, "credits": 5000}
    auto_topup_configure(organization=organization, enabled=False, threshold=1000, credits=5000, actor=owner)
    organization.refresh_from_db()
    assert organization.auto_topup_below is None
    with pytest.raises(PurchaseError):
        auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=1500, actor=owner)
    with pytest.raises(PurchaseError):
        auto_topup_configure(organization=organization, enabled=True, threshold=0, credits=1000, actor=owner)


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_auto_topup(organization, owner):
    auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=1000, actor=owner)
    first = auto_topup_prepare(organization=organization)
    assert first is not None
    clone = Purchase.objects.get(pk=first.pk)
    clone.pk, clone.order_id, clone.gateway_ref, clone.idempotency_key = uuid.uuid4(), "X-1", "X-1", "k"
    clone.invoice = None
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save(force_insert=True)  # a second open auto top-up
    clone.status = "paid"
    clone.save(force_insert=True)  # a closed one does not count


@pytest.mark.django_db(transaction=True)
def test_it_prepares_exactly_one_purchase_when_the_balance_crosses_the_threshold_twice(organization, owner):
    grant(organization, 1003)
    auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=5000, actor=owner)
    assert not auto_purchases(organization).exists()  # 1003 is not below 1000

    charge(organization, 4)  # 1003 → 999: the crossing
    assert auto_purchases(organization).count() == 1
    grant(organization, 500)  # back above the threshold …
    charge(organization, 600)  # … and below again while the first one still waits for payment
    assert auto_purchases(organization).count() == 1

    purchase = auto_purchases(organization).get()
    assert purchase.status == "pending" and purchase.credits == 5000 and purchase.created_by is None
    assert AuditEntry.objects.filter(action="auto_topup.prepared", target_id=str(purchase.pk)).count() == 1
    mail = OutboundEmail.objects.get(kind="auto_topup_prepared")
    assert mail.to_email == owner.email and f"/billing/purchases/{purchase.pk}/resume/" in mail.body_text

    # Once it is closed (expired unpaid), the next crossing prepares a new one.
    Purchase.objects.filter(pk=purchase.pk).update(status="expired")
    grant(organization, 1100)  # 899 → 1999, above the threshold again
    balance = usage_balance(organization)
    charge(organization, balance - 999)
    assert auto_purchases(organization).filter(status="pending").count() == 1
    assert auto_purchases(organization).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_and_preparations_make_one_purchase(organization, owner):
    grant(organization, 1010)
    auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=1000, actor=owner)
    errors = []

    def work(i):
        try:
            barrier.wait()
            org = Organization.objects.get(pk=organization.pk)
            if i % 2:
                charge(org, 2)
            else:
                auto_topup_prepare(organization=org)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    barrier = threading.Barrier(20)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert auto_purchases(organization).count() == 1
    assert AuditEntry.objects.filter(action="auto_topup.prepared").count() == 1


@pytest.mark.django_db
def test_the_charge_path_costs_no_extra_query_with_auto_topup_on(organization, owner, django_assert_num_queries):
    grant(organization, 5000)
    charge(organization)
    with django_assert_num_queries(1):
        charge(organization)
    auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=1000, actor=owner)
    with django_assert_num_queries(1):
        charge(organization)


@pytest.mark.django_db
def test_the_owner_sets_it_up_and_the_dashboard_shows_the_prepared_purchase(owner_client, organization, owner):
    page = owner_client.get("/billing/auto-top-up/")
    assert page.status_code == 200
    response = owner_client.post(
        "/billing/auto-top-up/", {"enabled": "on", "threshold": "1000", "credits": "5000"}, follow=True
    )
    assert "Auto top-up is on." in response.content.decode()
    organization.refresh_from_db()
    assert organization.auto_topup_below == 1000
    purchase = auto_topup_prepare(organization=organization)  # balance 0 < 1000
    dashboard = owner_client.get("/").content.decode()
    assert 'id="auto-topup-notice"' in dashboard and f"/billing/purchases/{purchase.pk}/resume/" in dashboard
    assert 'id="auto-topup-card"' in owner_client.get("/settings/").content.decode()


@pytest.mark.django_db
def test_only_an_owner_sets_up_auto_topup(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/billing/auto-top-up/").status_code == 403
    assert (
        client.post("/billing/auto-top-up/", {"enabled": "on", "threshold": "1", "credits": "1000"}).status_code == 403
    )


@pytest.mark.django_db(transaction=True)
def test_the_chatbot_api_charge_that_crosses_the_threshold_prepares_it(organization, owner, api_client):
    grant(organization, 1001)
    auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=1000, actor=owner)
    for n in range(3):
        response = api_client.post(
            "/api/v1/usage/messages", {"message_id": f"wamid.{n}", "direction": "inbound"}, format="json"
        )
        assert response.status_code == 201
    assert auto_purchases(organization).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_broken_broker_never_fails_the_charge(organization, owner, api_client, monkeypatch):
    from billing.tasks import auto_topup as tasks

    grant(organization, 1000)
    auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=1000, actor=owner)

    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.prepare_auto_topup, "delay", down)
    response = api_client.post("/api/v1/usage/messages", {"message_id": "m-1", "direction": "inbound"}, format="json")
    assert response.status_code == 201 and response.json()["balance"] == 999
