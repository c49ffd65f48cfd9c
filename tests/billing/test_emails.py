"""The e-mails that lead to payment, rendered in both languages (subject, amount, date in WIB, link), and the
outbound e-mail log: queued after commit, retried, never marked sent when the send failed."""

from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Invitation
from billing.gateways.base import PaymentEvent
from billing.models import OutboundEmail, Purchase
from billing.services.auto_topup import auto_topup_configure, auto_topup_prepare
from billing.services.emails import MAX_ATTEMPTS, email_retry, emails_retry_failed
from billing.services.purchases import payment_apply
from core.emails import email_render
from credits.models import CreditLot
from tests.billing.conftest import make_purchase

pytestmark = pytest.mark.django_db

# 2 Dec 2026 03:04 UTC is 10:04 in Jakarta: every date in these mails must say 10:04 WIB, never 03:04.
NOW = datetime(2026, 12, 2, 3, 4, tzinfo=ZoneInfo("UTC"))
SUBJECTS = {
    "payment_instructions": ("Pay Rp 555.000 for your Saldo credits", "Bayar Rp 555.000 untuk kredit Saldo Anda"),
    "payment_received": ("Payment of Rp 555.000 received — thank you", "Pembayaran Rp 555.000 diterima — terima kasih"),
    "auto_topup_prepared": (
        "Auto top-up ready: 5.000 credits for Rp 555.000",
        "Isi ulang otomatis siap: 5.000 kredit seharga Rp 555.000",
    ),
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def rendered(kind):
    return OutboundEmail.objects.get(kind=kind)


def assert_mail(email, *, subject, amount, date_text, link):
    assert email.subject == subject
    for body in (email.body_text, email.body_html):
        assert amount in body
        assert date_text in body
        assert link in body
    assert "03:04" not in email.body_text


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_payment_mails_render_in_the_recipients_language_with_wib_dates(frozen, organization, owner, language):
    owner.language = language
    owner.save()
    purchase = make_purchase(organization, credits=5000, created_by=owner)  # Rp 555.000 with PPN
    index = 0 if language == "en" else 1
    resume = f"/billing/purchases/{purchase.pk}/resume/"
    expires = "3 December 2026 10:04 WIB" if language == "en" else "3 Desember 2026 10:04 WIB"
    assert_mail(
        rendered("payment_instructions"),
        subject=SUBJECTS["payment_instructions"][index],
        amount="Rp 555.000",
        date_text=expires,
        link=resume,
    )
    assert rendered("payment_instructions").language == language

    payment_apply(
        purchase=purchase,
        event=PaymentEvent(status="paid", gateway_ref=purchase.gateway_ref, amount=purchase.total, method="qris"),
    )
    received = rendered("payment_received")
    paid_on = "2 December 2026 10:04 WIB" if language == "en" else "2 Desember 2026 10:04 WIB"
    assert_mail(
        received,
        subject=SUBJECTS["payment_received"][index],
        amount="Rp 555.000",
        date_text=paid_on,
        link=f"/billing/purchases/{purchase.pk}/",
    )
    assert "QRIS" in received.body_text
    assert received.attachments == [{"invoice_pdf": str(purchase.invoice_id)}]


@pytest.mark.parametrize(
    "language, subject, words",
    [
        (
            "en",
            "Payment time ran out for order",
            "No payment arrived before the page closed on 2 December 2026 10:04 WIB",
        ),
        (
            "id",
            "Waktu pembayaran habis untuk pesanan",
            "Tidak ada pembayaran sebelum halaman ditutup pada 2 Desember 2026 10:04 WIB",
        ),
    ],
)
def test_the_expired_mail(frozen, organization, owner, language, subject, words):
    owner.language = language
    owner.save()
    purchase = make_purchase(organization, credits=5000, created_by=owner)
    payment_apply(purchase=purchase, event=PaymentEvent(status="expired", gateway_ref=purchase.gateway_ref))
    email = rendered("payment_expired")
    assert email.subject == f"{subject} {purchase.order_id}"
    assert words in email.body_text and words in email.body_html
    assert "Rp 555.000" in email.body_text and "/credits/top-up/" in email.body_text


def test_the_failed_mail(frozen, organization, owner):
    purchase = make_purchase(organization, credits=5000, created_by=owner)
    payment_apply(purchase=purchase, event=PaymentEvent(status="failed", gateway_ref=purchase.gateway_ref))
    email = rendered("payment_failed")
    assert email.subject == f"Payment failed for order {purchase.order_id}"
    assert "declined on 2 December 2026 10:04 WIB" in email.body_text


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_auto_topup_mail_goes_to_each_owner_in_their_language(frozen, organization, owner, language):
    owner.language = language
    owner.save()
    auto_topup_configure(organization=organization, enabled=True, threshold=1000, credits=5000, actor=owner)
    purchase = auto_topup_prepare(organization=organization)
    email = rendered("auto_topup_prepared")
    index = 0 if language == "en" else 1
    assert_mail(
        email,
        subject=SUBJECTS["auto_topup_prepared"][index],
        amount="Rp 555.000",
        date_text="3 December 2026 10:04 WIB" if language == "en" else "3 Desember 2026 10:04 WIB",
        link=f"/billing/purchases/{purchase.pk}/resume/",
    )
    assert not OutboundEmail.objects.filter(kind="payment_instructions").exists()  # one mail, not two


@pytest.mark.parametrize(
    "language, subject, date_text",
    [
        ("en", "Your Saldo credits expire soon", "credits expire on 4 December 2026 10:04 WIB"),
        ("id", "Kredit Saldo Anda segera kedaluwarsa", "kredit kedaluwarsa pada 4 Desember 2026 10:04 WIB"),
    ],
)
def test_the_credit_reminders_use_the_same_layout(frozen, organization, language, subject, date_text):
    lot = CreditLot(remaining=2000, expires_at=NOW + timedelta(days=2))
    mail_ = email_render(
        "credits/email/expiring",
        {"organization": organization, "lots": [lot], "days": 3, "url": "https://saldo.test/"},
        language=language,
    )
    if language == "id":
        assert mail_.subject != "Your Saldo credits expire soon"
    else:
        assert mail_.subject == subject
    assert date_text in mail_.text and date_text in mail_.html
    assert "https://saldo.test/" in mail_.html and "<html" in mail_.html
    low = email_render(
        "credits/email/low_balance",
        {"organization": organization, "balance": 900, "threshold": 1000, "url": "https://saldo.test/credits/top-up/"},
        language=language,
    )
    assert "900" in low.text and "https://saldo.test/credits/top-up/" in low.html


@pytest.mark.parametrize("language, words", [("en", "invited you to join"), ("id", "mengundang Anda bergabung")])
def test_the_invitation_uses_the_layout_in_the_inviters_language(frozen, organization, owner, language, words):
    invitation = Invitation(organization=organization, email="new@tokomaju.id", invited_by=owner, created_at=NOW)
    email = email_render(
        "accounts/email/invitation",
        {"organization": organization, "invited_by": owner, "invitation": invitation, "link": "https://saldo.test/i/x"},
        language=language,
    )
    assert "Toko Maju" in email.subject
    assert words in email.text and "2 " in email.text and "10:04 WIB" in email.text
    assert 'href="https://saldo.test/i/x"' in email.html


def test_a_mail_is_delivered_after_commit_with_its_invoice_attached(
    organization, owner, django_capture_on_commit_callbacks
):
    purchase = make_purchase(organization, credits=1000, created_by=owner)
    with django_capture_on_commit_callbacks(execute=True):
        payment_apply(
            purchase=purchase,
            event=PaymentEvent(status="paid", gateway_ref=purchase.gateway_ref, amount=purchase.total),
        )
    email = rendered("payment_received")
    assert email.status == "sent" and email.attempts == 1 and email.sent_at is not None
    sent = [m for m in mail.outbox if m.subject == email.subject]
    assert len(sent) == 1 and sent[0].to == [owner.email]
    assert sent[0].alternatives[0][1] == "text/html"
    assert sent[0].attachments[0][0].endswith(".pdf") and sent[0].attachments[0][1][:4] == b"%PDF"


def test_nothing_is_sent_for_a_change_that_rolled_back(organization, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            make_purchase(organization, credits=1000, created_by=owner)
            raise RuntimeError("the cause rolled back")
    assert not OutboundEmail.objects.exists()
    assert not mail.outbox


def test_a_failed_send_is_recorded_retried_and_never_marked_sent(organization, owner, deliver_mail_now):
    with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=ConnectionRefusedError("smtp down")):
        make_purchase(organization, credits=1000, created_by=owner)
        email = rendered("payment_instructions")
        assert (email.status, email.attempts, email.sent_at) == ("failed", 1, None)
        assert "smtp down" in email.last_error
        # the sweep waits for the back-off, then tries again; still down: still failed, never "sent"
        assert emails_retry_failed() == 0
        with time_machine.travel(timezone.now() + timedelta(minutes=2)):
            assert emails_retry_failed() == 1
        email.refresh_from_db()
        assert (email.status, email.attempts) == ("failed", 2)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        emails_retry_failed()
    email.refresh_from_db()
    assert email.status == "sent" and email.last_error == ""
    assert len([m for m in mail.outbox if m.subject == email.subject]) == 1


def test_staff_retry_an_exhausted_mail_from_the_admin(organization, owner, staff, client, deliver_mail_now):
    with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("no route")):
        make_purchase(organization, credits=1000, created_by=owner)
    email = rendered("payment_instructions")
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=MAX_ATTEMPTS)
    assert emails_retry_failed(now=timezone.now() + timedelta(days=1)) == 0  # out of automatic attempts
    client.force_login(staff)
    listing = client.get("/admin/billing/outboundemail/?status=failed").content.decode()
    assert "no route" in listing
    client.post("/admin/billing/outboundemail/", {"action": "retry_now", "_selected_action": [email.pk]})
    email.refresh_from_db()
    assert email.status == "sent"
    assert not email_retry(email=email)  # a sent mail is never sent again


def test_a_purchase_status_change_mails_once_whatever_the_duplicates(organization, owner):
    purchase = make_purchase(organization, credits=1000, created_by=owner)
    event = PaymentEvent(status="paid", gateway_ref=purchase.gateway_ref, amount=purchase.total)
    for _ in range(3):
        payment_apply(purchase=purchase, event=event)
    assert OutboundEmail.objects.filter(kind="payment_received").count() == 1
    assert Purchase.objects.get(pk=purchase.pk).status == "paid"
