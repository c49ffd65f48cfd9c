"""Statement notifications (issue 15): "statement issued", then the daily reminders due soon (3 days
before), due today and overdue — once each per statement (a unique constraint), in each recipient's language,
dates in WIB, with the payable page's link; the banner on the dashboard and conversations page."""

import threading
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.utils import timezone

from billing.models import OutboundEmail
from invoices.models import Invoice, InvoiceReminder
from invoices.reminders import invoice_reminders_send, reminder_kind_for
from invoices.services import invoice_create, invoice_mark_paid

# 2 Dec 2026 03:04 UTC = 10:04 WIB; a 14-day statement is due 16 Dec 2026 10:04 WIB.
NOW = datetime(2026, 12, 2, 3, 4, tzinfo=ZoneInfo("UTC"))
LINES = [{"description": "WhatsApp conversations, November 2026", "quantity": 1000, "unit_price": 500}]  # Rp 555.000

SUBJECTS = {
    "issued": ("Statement {n}: Rp 555.000 to pay", "Tagihan {n}: Rp 555.000 perlu dibayar"),
    "due_soon": (
        "Reminder: statement {n} is due on 16 December 2026",
        "Pengingat: tagihan {n} jatuh tempo pada 16 Desember 2026",
    ),
    "due_today": ("Statement {n} is due today", "Tagihan {n} jatuh tempo hari ini"),
    "overdue": ("Overdue: statement {n} is not paid yet", "Lewat jatuh tempo: tagihan {n} belum dibayar"),
}
DUE_TEXT = ("16 December 2026 10:04 WIB", "16 Desember 2026 10:04 WIB")


@pytest.fixture(autouse=True)
def _no_pdf(monkeypatch):
    from invoices import tasks

    monkeypatch.setattr(tasks.render_invoice_pdf, "delay", lambda *a, **k: None)
    monkeypatch.setattr(tasks.email_invoice, "delay", lambda *a, **k: None)


def make_statement(organization):
    with time_machine.travel(NOW, tick=False):
        return invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT, reference="s:1")


def at(day: int, hour: int = 8):
    """A moment on ``day`` December 2026, ``hour`` o'clock WIB."""
    return datetime(2026, 12, day, hour, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


def mails(kind):
    return list(OutboundEmail.objects.filter(kind=f"statement_{kind}").order_by("to_email"))


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "id"])
def test_the_statement_mails_render_in_each_language_with_amount_wib_date_and_link(organization, owner, language):
    owner.language = language
    owner.save()
    index = 0 if language == "en" else 1
    statement = make_statement(organization)
    assert statement.due_at == NOW + timedelta(days=14)
    link = f"/billing/invoices/{statement.pk}/"
    for kind, moment in (("issued", None), ("due_soon", at(13)), ("due_today", at(16)), ("overdue", at(17))):
        if moment is not None:
            assert invoice_reminders_send(now=moment) == {kind: 1}
        email = next(m for m in mails(kind) if m.to_email == owner.email)
        assert email.language == language
        assert email.subject == SUBJECTS[kind][index].format(n=statement.number)
        for body in (email.body_text, email.body_html):
            assert "Rp 555.000" in body
            assert DUE_TEXT[index] in body
            assert link in body
        assert "03:04" not in email.body_text


@pytest.mark.django_db
def test_it_sends_each_reminder_once_whatever_the_reruns(organization, owner):
    statement = make_statement(organization)
    assert invoice_reminders_send(now=at(10)) == {}  # six days before: nothing yet
    assert invoice_reminders_send(now=at(13)) == {"due_soon": 1}
    assert invoice_reminders_send(now=at(13, 20)) == {}
    assert invoice_reminders_send(now=at(14)) == {}  # still "due soon": already sent
    assert invoice_reminders_send(now=at(16)) == {"due_today": 1}
    assert invoice_reminders_send(now=at(17)) == {"overdue": 1}
    assert invoice_reminders_send(now=at(25)) == {}
    assert sorted(statement.reminders.values_list("kind", flat=True)) == ["due_soon", "due_today", "overdue"]
    assert len(mails("overdue")) == len(mails("issued")) == 2  # the owner and the invoice address, once each


@pytest.mark.django_db
def test_a_statement_first_seen_late_gets_only_the_overdue_reminder(organization, owner):
    statement = make_statement(organization)
    assert invoice_reminders_send(now=at(20)) == {"overdue": 1}
    assert list(statement.reminders.values_list("kind", flat=True)) == ["overdue"]


@pytest.mark.django_db
def test_a_paid_statement_gets_no_reminder(organization, owner):
    statement = make_statement(organization)
    invoice_mark_paid(invoice=statement)
    assert invoice_reminders_send(now=at(17)) == {}
    assert not InvoiceReminder.objects.exists()


@pytest.mark.django_db
def test_the_unique_constraint_refuses_a_second_reminder_of_a_kind(organization):
    statement = make_statement(organization)
    InvoiceReminder.objects.create(invoice=statement, kind="overdue")
    with pytest.raises(IntegrityError):
        InvoiceReminder.objects.create(invoice=statement, kind="overdue")


@pytest.mark.django_db
def test_owners_and_admins_and_the_invoice_address_get_it_but_not_members(organization, owner, admin_user, member):
    organization.invoice_email = "ap@tokomaju.id"
    organization.save()
    make_statement(organization)  # the statement's invoice address is frozen from the organization
    recipients = {m.to_email for m in mails("issued")}
    assert recipients == {owner.email, admin_user.email, "ap@tokomaju.id"}


@pytest.mark.django_db
def test_the_kind_follows_the_wib_calendar_day():
    invoice = Invoice(
        status=Invoice.Status.ISSUED, kind=Invoice.Kind.STATEMENT, due_at=at(16, 0) + timedelta(minutes=30)
    )
    assert reminder_kind_for(invoice, today=at(12).date()) is None
    assert reminder_kind_for(invoice, today=at(13).date()) == "due_soon"
    assert reminder_kind_for(invoice, today=at(16).date()) == "due_today"
    assert reminder_kind_for(invoice, today=at(17).date()) == "overdue"


@pytest.mark.django_db
def test_the_job_is_in_the_beat_schedule(settings):
    assert settings.SALDO_PERIODIC_TASKS["invoice reminders"]["task"] == "invoices.tasks.send_invoice_reminders"
    out = StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    assert "invoices.tasks.send_invoice_reminders" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_reminder_once(organization, owner):
    statement = make_statement(organization)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            results.append(invoice_reminders_send(now=at(17)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.get("overdue", 0) for r in results) == 1
    assert InvoiceReminder.objects.filter(invoice=statement).count() == 1
    assert OutboundEmail.objects.filter(kind="statement_overdue", to_email=owner.email).count() == 1


@pytest.mark.django_db
def test_the_banner_shows_on_the_dashboard_and_conversations_while_a_statement_is_unpaid(
    client, organization, owner, member
):
    client.force_login(owner)
    assert 'id="unpaid-statement-banner"' not in client.get("/").content.decode()
    statement = make_statement(organization)
    for url in ("/", "/conversations/"):
        html = client.get(url).content.decode()
        assert 'id="unpaid-statement-banner"' in html and statement.number in html
        assert f'href="/billing/invoices/{statement.pk}/"' in html
    assert "is overdue" not in client.get("/").content.decode()
    client.force_login(member)
    html = client.get("/").content.decode()
    assert 'id="unpaid-statement-banner"' in html and 'id="unpaid-statement-pay"' not in html
    invoice_mark_paid(invoice=statement)
    client.force_login(owner)
    assert 'id="unpaid-statement-banner"' not in client.get("/").content.decode()
    assert 'id="unpaid-statement-banner"' not in client.get("/conversations/").content.decode()


@pytest.mark.django_db
def test_the_banner_says_overdue_once_the_due_date_passed(client, organization, owner):
    with time_machine.travel(timezone.now() - timedelta(days=20)):
        invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT)
    client.force_login(owner)
    assert "Your WhatsApp statement is overdue" in client.get("/").content.decode()


@pytest.mark.django_db
def test_staff_see_overdue_invoices_in_the_console_and_filter_them(client, staff, organization, owner):
    with time_machine.travel(timezone.now() - timedelta(days=20)):
        overdue = invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT)
        paid = invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT)
        invoice_mark_paid(invoice=paid)
    not_yet_due = invoice_create(organization=organization, lines=LINES, kind=Invoice.Kind.STATEMENT)
    client.force_login(staff)
    home = client.get("/admin/?refresh=1").content.decode()
    assert "Overdue invoices" in home and "payment=overdue" in home and "Rp 555.000" in home
    listing = client.get("/admin/invoices/invoice/?payment=overdue").content.decode()
    assert overdue.number in listing
    assert paid.number not in listing and not_yet_due.number not in listing
