"""Settings → Webhooks: owners and admins add, edit, disable and delete endpoints, see a secret once, roll it,
read each endpoint's delivery log, resend one event and send a test event. Views parse and render; the
services write."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.decorators import organization_required

from . import selectors, services
from .forms import EndpointForm
from .models import Delivery, WebhookEndpoint
from .types import EVENT_TYPES


def _endpoint_or_404(request, pk) -> WebhookEndpoint:
    try:
        return selectors.endpoint_for(request.organization, pk)
    except (WebhookEndpoint.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


@organization_required(billing=True)
def endpoints(request):
    form = EndpointForm()
    if request.method == "POST":
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = services.endpoint_create(
                    organization=request.organization, actor=request.user, **form.cleaned_data
                )
            except services.EndpointError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, _("Endpoint added. Copy its signing secret now: it will not be shown again."))
                return _detail(request, endpoint, new_secret=secret)
    return render(
        request,
        "events/endpoints.html",
        {"form": form, "endpoints": selectors.endpoints_for(request.organization)},
    )


@organization_required(billing=True)
def endpoint_detail(request, pk):
    endpoint = _endpoint_or_404(request, pk)
    form = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "update":
            form = EndpointForm(request.POST)
            if form.is_valid():
                try:
                    services.endpoint_update(endpoint=endpoint, actor=request.user, **form.cleaned_data)
                except services.EndpointError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, str(exc))
                else:
                    messages.success(request, _("Endpoint saved."))
                    return redirect("events:endpoint", pk=endpoint.pk)
        elif action in ("enable", "disable"):
            services.endpoint_update(endpoint=endpoint, actor=request.user, enabled=action == "enable")
            messages.success(request, _("Endpoint enabled.") if action == "enable" else _("Endpoint disabled."))
            return redirect("events:endpoint", pk=endpoint.pk)
        elif action == "roll":
            endpoint, secret = services.endpoint_roll_secret(endpoint=endpoint, actor=request.user)
            messages.success(
                request, _("New signing secret. The previous one keeps signing alongside it for 24 hours.")
            )
            return _detail(request, endpoint, new_secret=secret)
        elif action == "test":
            services.endpoint_send_test(endpoint=endpoint, actor=request.user)
            messages.success(request, _("Test event sent. It appears in the log below."))
            return redirect("events:endpoint", pk=endpoint.pk)
        elif action == "resend":
            try:
                delivery = endpoint.deliveries.get(pk=request.POST.get("delivery_id"))
            except (Delivery.DoesNotExist, ValueError) as exc:
                raise Http404 from exc
            services.delivery_resend(delivery=delivery, actor=request.user)
            messages.success(request, _("Event queued to be sent again."))
            return redirect("events:endpoint", pk=endpoint.pk)
        elif action == "delete":
            services.endpoint_delete(endpoint=endpoint, actor=request.user)
            messages.success(request, _("Endpoint deleted."))
            return redirect("events:endpoints")
    return _detail(request, endpoint, form=form)


def _detail(request, endpoint: WebhookEndpoint, *, new_secret: str | None = None, form=None):
    form = form or EndpointForm(
        initial={"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    )
    return render(
        request,
        "events/endpoint.html",
        {
            "endpoint": endpoint,
            "form": form,
            "new_secret": new_secret,
            "deliveries": selectors.deliveries_for(endpoint),
            "event_types": EVENT_TYPES,
        },
    )
