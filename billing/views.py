"""Top-up flow pages: choose credits, summary, Pay Now, status, the sandbox gateway's page; and the payment
webhooks."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import organization_required
from accounts.services import organization_update_billing
from core.money import format_thousands

from .forms import CheckoutForm, ChooseCreditsForm
from .gateways import GATEWAYS, GatewayError, InvalidNotification
from .gateways import sandbox as sandbox_gateway
from .models.purchases import Purchase
from .selectors.purchases import (
    PRESETS,
    price_list_current,
    price_quote,
    purchase_current_session,
    purchase_for,
)
from .services.purchases import PurchaseError, purchase_cancel, purchase_create, webhook_handle

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
    context = {
        "form": form,
        "quotes": quotes,
        "tiers": _tiers(),
        "tax_percent": quotes[0].tax_percent,
        "tax_rate": str(settings.TAX_RATE),
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
        "valid_until": timezone.now() + timezone.timedelta(days=quote.validity_days),
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
    messages.success(
        request,
        _("Payment received: %(credits)s credits were added, valid until %(until)s. Invoice %(number)s is paid.")
        % {
            "credits": format_thousands(purchase.credits),
            "until": timezone.localtime(purchase.lot.expires_at).strftime("%d %b %Y") if purchase.lot else "",
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


@organization_required(billing=True)
@require_POST
def purchase_cancel_view(request, pk):
    purchase = purchase_for(request.organization, pk)
    try:
        purchase_cancel(purchase=purchase, actor=request.user)
    except PurchaseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Purchase %(order)s was cancelled and its invoice voided.") % {"order": purchase.order_id}
        )
    next_url = request.POST.get("next") or ""
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect("billing:purchase_status", pk=purchase.pk)


# --- The sandbox gateway's payment page ----------------------------------------------------------


def _sandbox_enabled():
    try:
        sandbox_gateway.refuse_in_production()
    except ImproperlyConfigured as exc:
        raise Http404("The sandbox gateway is not available here.") from exc


@organization_required(billing=True)
@require_http_methods(["GET", "POST"])
def sandbox_page(request, ref):
    """What a bank's virtual-account page would be. Its buttons notify Saldo through the real webhook
    path (verify → store → process), signed like Midtrans with SANDBOX_SERVER_KEY."""
    _sandbox_enabled()
    purchase = (
        Purchase.objects.filter(organization=request.organization, gateway="sandbox", gateway_ref=ref)
        .select_related("invoice")
        .first()
    )
    if purchase is None:
        raise Http404
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ("pay", "expire", "cancel", "fail"):
            return HttpResponse(status=400)
        payload = sandbox_gateway.notification(
            gateway_ref=ref, amount=purchase.total, action=action, transaction_id=str(uuid.uuid4())
        )
        body = json.dumps(payload).encode()
        webhook_handle(gateway_name="sandbox", headers={"content-type": "application/json"}, body=body)
        return redirect(reverse("billing:purchase_status", args=[purchase.pk]) + "?return=1")
    session = purchase_current_session(purchase)
    return render(
        request,
        "billing/sandbox_payment.html",
        {"purchase": purchase, "session": session, "va_number": sandbox_gateway.virtual_account(ref)},
    )


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
