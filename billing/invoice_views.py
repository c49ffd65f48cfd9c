"""Subscription page and invoice pages."""

from django.shortcuts import render

from accounts.decorators import organization_required


@organization_required(billing=True)
def subscription(request):
    return render(request, "billing/subscription.html", {})
