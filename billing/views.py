"""Top-up flow pages: choose credits, summary, Pay Now, status, the sandbox gateway's page; and the payment
webhooks."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import organization_required
from accounts.models import Membership
from accounts.services import organization_update_billing
from core.money import format_thousands
from core.months import JAKARTA
from credits.selectors import balance_for
from invoices.selectors import invoice_for

from .forms import AutoTopUpForm, CheckoutForm, ChooseCreditsForm
from .gateways import GATEWAYS, GatewayError, InvalidNotification
from .gateways import methods as payment_methods
from .gateways import sandbox as sandbox_gateway
from .models.auto_topup import AutoTopUp
from .models.purchases import PaymentMethod, Purchase
from .selectors.purchases import (
    PRESETS,
    price_list_current,
    price_quote,
    purchase_current_session,
    purchase_for,
)
from .services.auto_topup import auto_topup_configure, auto_topup_open_purchase
from .services.purchases import (
    PurchaseError,
    credit_limits,
    invoice_payment_start,
    purchase_cancel,
    purchase_create,
    webhook_handle,
)

SESSION_KEYS = "topup_idempotency_keys"


def _tiers():
    price_list = price_list_current()
    return list(price_list.tiers.all()) if price_list else []


@organization_required(billing=True)
@require_GET
def top_up(request):
    """Step 1: presets, a custom amount in multiples of 1,000, the price per credit and a live total."""
    form = ChooseCreditsForm(request.GET or None, initial={"credits": 5000})
    if request.GET and form.is_valid():
        return redirect(reverse("topup:summary") + f"?credits={form.cleaned_data['credits']}")
    quotes = [price_quote(credits=n) for n in PRESETS]
    typed = str(form["credits"].value() or "")
    digits = "".join(ch for ch in typed if ch.isdigit())
    context = {
        "form": form,
        "limits": credit_limits(),
        # What was typed, grouped as the page groups it while typing ("15.000").
        "credits_value": format_thousands(int(digits)) if digits and len(digits) <= 15 else typed,
        "quotes": quotes,
        "tiers": _tiers(),
        "tax_percent": quotes[0].tax_percent,
        "tax_rate": str(quotes[0].tax_rate),
        # DPP Nilai Lain = numerator/denominator × DPP (1/1 when PPN is on the full price): the live total in
        # the page computes PPN as the invoice does.
        "tax_factor": (terms.numerator, terms.denominator) if (terms := quotes[0].terms) else (1, 1),
        "validity_days": settings.CREDIT_VALIDITY_DAYS,
        "pending": Purchase.objects.filter(organization=request.organization, status=Purchase.Status.PENDING).order_by(
            "-created_at"
        )[:3],
    }
    return render(request, "billing/top_up.html", context)


def _idempotency_key(request, credits: int) -> str:
    """One key per browser session and amount until it has been used: two tabs or a double click on
    Pay Now send the same key, so they find the same purchase."""
    keys = request.session.get(SESSION_KEYS, {})
    key = keys.get(str(credits))
    if (
        not key
        or Purchase.objects.filter(organization=request.organization, idempotency_key=key)
        .exclude(status=Purchase.Status.PENDING)
        .exists()
    ):
        key = uuid.uuid4().hex
        keys[str(credits)] = key
        request.session[SESSION_KEYS] = keys
    return key


def _summary_context(request, form, credits: int) -> dict:
    quote = price_quote(credits=credits)
    return {
        "form": form,
        "quote": quote,
        "valid_until": timezone.now() + timedelta(days=quote.validity_days),
        "session_hours": settings.PAYMENT_SESSION_HOURS,
        "gateway": settings.PAYMENT_GATEWAY,
    }


@organization_required(billing=True)
@require_GET
def summary(request):
    """Step 2: credits, unit price, subtotal, PPN, total, validity, billing details (prefilled)."""
    choose = ChooseCreditsForm(request.GET)
    if not choose.is_valid():
        messages.error(request, _("Choose a number of credits in multiples of 1,000."))
        return redirect("topup:top_up")
    credits = choose.cleaned_data["credits"]
    org = request.organization
    form = CheckoutForm(
        initial={
            "credits": credits,
            "idempotency_key": _idempotency_key(request, credits),
            "legal_name": org.legal_name or org.name,
            "npwp": org.npwp,
            "tax_document_type": org.tax_document_type,
            "nitku": org.nitku,
            "tax_document_number": org.tax_document_number,
            "address": org.address,
            "email": org.invoice_email or request.user.email,
        }
    )
    return render(request, "billing/top_up_summary.html", _summary_context(request, form, credits))


def _go_to_payment(purchase: Purchase):
    session = purchase_current_session(purchase)
    if purchase.status == Purchase.Status.PENDING and session and not session.is_due:
        return redirect(session.redirect_url)
    return redirect(reverse("billing:purchase_status", args=[purchase.pk]))


@organization_required(billing=True)
@require_POST
def pay_now(request):
    """Step 3: one purchase per idempotency key, then off to the gateway's payment page."""
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        credits = form.cleaned_data.get("credits") if hasattr(form, "cleaned_data") else None
        if not credits:
            messages.error(request, _("Choose a number of credits in multiples of 1,000."))
            return redirect("topup:top_up")
        return render(request, "billing/top_up_summary.html", _summary_context(request, form, credits), status=400)
    data = form.cleaned_data
    try:
        purchase = purchase_create(
            organization=request.organization,
            credits=data["credits"],
            idempotency_key=data["idempotency_key"],
            created_by=request.user,
            billing=form.billing(),
        )
    except GatewayError:
        messages.error(request, _("The payment provider could not be reached. Nothing was charged; please try again."))
        return render(
            request, "billing/top_up_summary.html", _summary_context(request, form, data["credits"]), status=502
        )
    except PurchaseError as exc:
        messages.error(request, str(exc))
        return redirect("topup:top_up")
    if getattr(purchase, "created", False) and data.get("save_details"):
        organization_update_billing(
            organization=request.organization,
            legal_name=data["legal_name"],
            npwp=data["npwp"],
            tax_document_type=data["tax_document_type"],
            tax_document_number=data["tax_document_number"],
            nitku=data["nitku"],
            address=data["address"],
            invoice_email=data["email"],
        )
    return _go_to_payment(purchase)


def _status_context(purchase: Purchase) -> dict:
    return {
        "purchase": purchase,
        "session": purchase_current_session(purchase),
        "invoice": purchase.invoice,
        "lot": purchase.lot,
    }


def _paid_message(request, purchase: Purchase) -> None:
    if purchase.pays_invoice:
        messages.success(
            request,
            _("Payment received: invoice %(number)s is paid.") % {"number": getattr(purchase.invoice, "number", "")},
        )
        return
    messages.success(
        request,
        _("Payment received: %(credits)s credits were added, valid until %(until)s. Invoice %(number)s is paid.")
        % {
            "credits": format_thousands(purchase.credits),
            # Month names through the active locale ("5 Des 2026"), in Asia/Jakarta.
            "until": date_format(timezone.localtime(purchase.lot.expires_at, JAKARTA), "j M Y") if purchase.lot else "",
            "number": purchase.invoice.number if purchase.invoice else "",
        },
    )


@organization_required(billing=True)
@require_GET
def purchase_status(request, pk):
    """Step 4: back from the gateway. Pending polls itself; once paid, the buyer goes to the dashboard."""
    purchase = purchase_for(request.organization, pk)
    returning = request.GET.get("return") == "1"
    if request.headers.get("HX-Request"):
        if returning and purchase.status == Purchase.Status.PAID:
            _paid_message(request, purchase)
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("dashboard")
            return response
        return render(
            request, "billing/purchase_status_panel.html", {**_status_context(purchase), "returning": returning}
        )
    if returning and purchase.status == Purchase.Status.PAID:
        _paid_message(request, purchase)
        return redirect("dashboard")
    return render(request, "billing/purchase_status.html", {**_status_context(purchase), "returning": returning})


@organization_required(billing=True)
@require_GET
def purchase_resume(request, pk):
    purchase = purchase_for(request.organization, pk)
    if purchase.status != Purchase.Status.PENDING:
        messages.info(request, _("This purchase is no longer waiting for payment."))
    return _go_to_payment(purchase)


def _safe_next(request, value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else ""


@organization_required(billing=True)
@require_POST
def invoice_pay(request, pk):
    """The Pay button of an unpaid invoice or payment request: open (or reuse) its payment session on the
    configured gateway and go to its payment page. Owners and admins only, like every billing page."""
    invoice = invoice_for(request.organization, pk)
    try:
        purchase = invoice_payment_start(invoice=invoice, created_by=request.user)
    except GatewayError:
        messages.error(request, _("The payment provider could not be reached. Nothing was charged; please try again."))
        return redirect("invoices:invoice_detail", pk=invoice.pk)
    except PurchaseError as exc:
        messages.info(request, str(exc))
        return redirect("invoices:invoice_detail", pk=invoice.pk)
    return _go_to_payment(purchase)


@organization_required(billing=True)
@require_http_methods(["GET", "POST"])
def purchase_cancel_view(request, pk):
    """GET asks for confirmation (a page whose form POSTs here, so it works without JavaScript); POST cancels."""
    purchase = purchase_for(request.organization, pk)
    if request.method == "GET":
        if purchase.status != Purchase.Status.PENDING:
            messages.info(request, _("This purchase is no longer waiting for payment."))
            return redirect("billing:purchase_status", pk=purchase.pk)
        back = _safe_next(request, request.GET.get("next", "")) or reverse(
            "billing:purchase_status", args=[purchase.pk]
        )
        return render(
            request,
            "confirm.html",
            {
                "title": _("Cancel purchase"),
                "question": _("Cancel the purchase of %(credits)s credits (%(order)s)?")
                % {"credits": format_thousands(purchase.credits), "order": purchase.order_id},
                "detail": _(
                    "Its payment page is closed and no invoice number is used. You can start a new top-up later."
                ),
                "action_url": reverse("billing:purchase_cancel", args=[purchase.pk]),
                "fields": {"next": back},
                "confirm_label": _("Cancel purchase"),
                "cancel_url": back,
            },
        )
    try:
        purchase_cancel(purchase=purchase, actor=request.user)
    except PurchaseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Purchase %(order)s was cancelled; no invoice was issued.") % {"order": purchase.order_id}
        )
    next_url = _safe_next(request, request.POST.get("next") or "")
    if next_url:
        return redirect(next_url)
    return redirect("billing:purchase_status", pk=purchase.pk)


# --- The sandbox gateway's payment page ----------------------------------------------------------


def _sandbox_enabled():
    try:
        sandbox_gateway.refuse_in_production()
    except ImproperlyConfigured as exc:
        raise Http404("The sandbox gateway is not available here.") from exc


def _sandbox_purchase(request, ref) -> Purchase:
    _sandbox_enabled()
    purchase = (
        Purchase.objects.filter(organization=request.organization, gateway="sandbox", gateway_ref=ref)
        .select_related("invoice")
        .first()
    )
    if purchase is None:
        raise Http404
    return purchase


def _sandbox_notify(purchase: Purchase, action: str, method: str):
    if action not in ("pay", "expire", "cancel", "fail"):
        return HttpResponse(status=400)
    payload = sandbox_gateway.notification(
        gateway_ref=purchase.gateway_ref or "",
        amount=purchase.total,
        action=action,
        transaction_id=str(uuid.uuid4()),
        method=method,
    )
    body = json.dumps(payload).encode()
    webhook_handle(gateway_name="sandbox", headers={"content-type": "application/json"}, body=body)
    return redirect(reverse("billing:purchase_status", args=[purchase.pk]) + "?return=1")


def _sandbox_methods():
    enabled = PaymentMethod.objects.filter(enabled=True)
    groups: dict[str, list[str]] = {kind: [] for kind, _label in payment_methods.KINDS}
    for row in enabled:
        if row.method:
            groups[row.kind].append(row.method)
    return [(kind, label, groups[kind]) for kind, label in payment_methods.KINDS if groups[kind]]


@organization_required(billing=True)
@require_http_methods(["GET", "POST"])
def sandbox_page(request, ref):
    """The sandbox's checkout, like Snap's or Xendit's: choose how to pay among the methods staff enabled.
    A POST here (the old single page) pays by BCA virtual account."""
    purchase = _sandbox_purchase(request, ref)
    if request.method == "POST":
        return _sandbox_notify(purchase, request.POST.get("action", ""), request.POST.get("method") or "bca_va")
    session = purchase_current_session(purchase)
    return render(
        request,
        "billing/sandbox_payment.html",
        {"purchase": purchase, "session": session, "groups": _sandbox_methods()},
    )


@organization_required(billing=True)
@require_http_methods(["GET", "POST"])
def sandbox_method_page(request, ref, method):
    """One way of paying, emulated: a bank's virtual account with how-to-pay steps, a QRIS code to scan, or
    an e-wallet's approval screen. Its buttons notify Saldo through the real webhook path."""
    purchase = _sandbox_purchase(request, ref)
    chosen = payment_methods.BY_CODE.get(method)
    if chosen is None or not PaymentMethod.objects.filter(code=method, enabled=True).exists():
        raise Http404
    if request.method == "POST":
        return _sandbox_notify(purchase, request.POST.get("action", ""), method)
    context: dict[str, object] = {
        "purchase": purchase,
        "session": purchase_current_session(purchase),
        "method": chosen,
        "va_number": sandbox_gateway.virtual_account(ref),
        "biller_code": sandbox_gateway.MANDIRI_BILLER_CODE,
    }
    if chosen.kind == payment_methods.VA:
        context["steps"] = sandbox_steps(chosen)
    if chosen.kind == payment_methods.QRIS:
        qris = sandbox_gateway.qris_payload(gateway_ref=ref, amount=purchase.total)
        context["qr_svg"] = segno.make(qris, error="m").svg_data_uri(scale=6, border=2)
        context["qris_string"] = qris
    return render(request, "billing/sandbox_method.html", context)


_BANK_APPS = {
    "BCA": "BCA mobile",
    "BNI": "BNI Mobile Banking",
    "BRI": "BRImo",
    "Mandiri": "Livin' by Mandiri",
    "Permata": "PermataMobile X",
}


def sandbox_steps(method) -> list[tuple[str, list[str]]]:
    """How-to-pay steps per channel, as banks print them on their VA pages."""
    bank = method.bank or _("your bank")
    app = _BANK_APPS.get(method.bank, _("your mobile banking app"))
    if method.code == "mandiri_bill":
        return [
            (
                app,
                [
                    _("Open %(app)s and log in.") % {"app": app},
                    _("Choose Pay, then Multipayment (Bayar → E-commerce)."),
                    _("Enter the company code %(code)s and the bill key above.") % {"code": "70012"},
                    _("Check the amount and the name, then confirm with your PIN."),
                ],
            ),
            (
                _("Mandiri ATM"),
                [
                    _("Choose Pay/Buy, then Others, then Multi Payment."),
                    _("Enter the company code %(code)s, then the bill key.") % {"code": "70012"},
                    _("Confirm the amount shown and finish the payment."),
                ],
            ),
        ]
    return [
        (
            app,
            [
                _("Open %(app)s and log in.") % {"app": app},
                _("Choose Transfer, then Virtual Account."),
                _("Paste the virtual account number above."),
                _("Check that the amount and the name Saldo are shown, then confirm with your PIN."),
            ],
        ),
        (
            _("%(bank)s ATM") % {"bank": bank},
            [
                _("Insert your card and enter your PIN."),
                _("Choose Other transactions, Transfer, then Virtual Account."),
                _("Enter the virtual account number and confirm the amount."),
            ],
        ),
        (
            _("Internet banking"),
            [
                _("Log in to %(bank)s internet banking.") % {"bank": bank},
                _("Choose Transfer to Virtual Account and enter the number."),
                _("Confirm with your token or OTP."),
            ],
        ),
    ]


# --- Webhooks --------------------------------------------------------------------------------------


@csrf_exempt
@require_POST
def payment_webhook(request, gateway):
    """``POST /webhooks/payments/<gateway>``: verify (401/403 when it fails, nothing stored), store raw,
    queue processing, answer 200 quickly."""
    if gateway not in GATEWAYS:
        raise Http404
    try:
        notification = webhook_handle(gateway_name=gateway, headers=request.headers, body=request.body)
    except ImproperlyConfigured as exc:  # the sandbox in production
        raise Http404 from exc
    except InvalidNotification as exc:
        return JsonResponse({"error": "invalid_notification", "detail": str(exc)}, status=exc.status)
    return JsonResponse({"status": "received", "id": notification.pk})


# --- Auto top-up -----------------------------------------------------------------------------------


@organization_required(billing=True)
@require_http_methods(["GET", "POST"])
def auto_topup(request):
    """The owner's rule: "when my balance falls below X credits, prepare N credits" (off by default)."""
    if request.membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only an owner can set up auto top-up.")
    org = request.organization
    rule = AutoTopUp.objects.filter(organization=org).first()
    initial = {"enabled": rule.enabled, "threshold": rule.threshold, "credits": rule.credits} if rule else None
    form = AutoTopUpForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            auto_topup_configure(organization=org, actor=request.user, **form.cleaned_data)
        except PurchaseError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Auto top-up is on.") if form.cleaned_data["enabled"] else _("Auto top-up is off."),
            )
            return redirect("billing:auto_topup")
    return render(
        request,
        "billing/auto_topup.html",
        {
            "form": form,
            "rule": rule,
            "open_purchase": auto_topup_open_purchase(org),
            "balance": balance_for(org),
            "recent": Purchase.objects.filter(organization=org, origin=Purchase.Origin.AUTO_TOPUP)[:5],
        },
    )
