from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AuditEntry
from credits.models import CreditLot, LedgerEntry
from credits.selectors import balance_for, ledger_audit
from credits.services import lot_grant, usage_charge
from credits.tasks import expire_credit_lots, send_credit_reminders

pytestmark = pytest.mark.django_db


def test_the_periodic_jobs_are_scheduled():
    jobs = settings.SALDO_PERIODIC_TASKS
    assert jobs["expire credit lots"] == {"task": "credits.tasks.expire_credit_lots", "every_minutes": 5}
    assert jobs["credit reminders"]["task"] == "credits.tasks.send_credit_reminders"
    assert "crontab" in jobs["credit reminders"]


def test_the_expiry_task_is_idempotent(organization):
    now = timezone.now()
    lot_grant(organization=organization, credits=5, source="grant", granted_at=now, expires_at=now + timedelta(hours=1))
    with time_machine.travel(now + timedelta(hours=2)):
        assert expire_credit_lots.delay().get() == 1
        assert expire_credit_lots.delay().get() == 0
    assert LedgerEntry.objects.filter(kind="expiry").count() == 1
    assert ledger_audit(organization.pk)["ok"]


def test_it_reminds_owners_once_per_expiring_lot(organization, owner, member, grant, deliver_mail_now):
    grant(organization, 5000, days=2)
    grant(organization, 5000, days=20)
    result = send_credit_reminders()
    assert result["expiring"] == 1
    expiring = [m for m in mail.outbox if "expire" in m.subject]
    assert len(expiring) == 1 and expiring[0].to == [owner.email]
    assert "5.000" in expiring[0].body
    mail.outbox.clear()
    assert send_credit_reminders()["expiring"] == 0
    assert not mail.outbox


def test_it_warns_once_per_low_balance_crossing(organization, owner, grant, deliver_mail_now):
    organization.low_balance_threshold = 10
    organization.save()
    grant(organization, 12, days=20)
    assert send_credit_reminders()["low_balance"] == 0
    for i in range(3):
        usage_charge(organization=organization, message_id=f"m{i}", direction="inbound")
    assert send_credit_reminders()["low_balance"] == 1
    assert "low" in mail.outbox[-1].subject and mail.outbox[-1].to == [owner.email]
    assert send_credit_reminders()["low_balance"] == 0  # still low: no second e-mail
    grant(organization, 100, days=20)  # back above the threshold: the next crossing warns again
    for i in range(3, 106):
        usage_charge(organization=organization, message_id=f"m{i}", direction="inbound")
    assert balance_for(organization) == 6
    assert send_credit_reminders()["low_balance"] == 1


def test_grant_credits_command_grants_a_lot_with_an_audit_entry(organization, capsys):
    call_command("grant_credits", "--org", organization.slug, "--credits", "2500", "--reason", "launch bonus")
    lot = CreditLot.objects.get()
    assert (lot.source, lot.credits, lot.reason) == ("grant", 2500, "launch bonus")
    assert balance_for(organization) == 2500
    assert AuditEntry.objects.get().action == "credits.grant"
    assert "2500" in capsys.readouterr().out


def test_grant_credits_command_refuses_bad_input(organization):
    with pytest.raises(CommandError):
        call_command("grant_credits", "--org", "nope", "--credits", "10", "--reason", "x")
    with pytest.raises(CommandError):
        call_command("grant_credits", "--org", organization.slug, "--credits", "0", "--reason", "x")
    with pytest.raises(CommandError):
        call_command("grant_credits", "--org", organization.slug, "--credits", "10", "--reason", " ")
    assert not CreditLot.objects.exists()
