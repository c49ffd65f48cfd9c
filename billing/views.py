"""Top-up flow pages: choose credits, summary, Pay Now, status, the sandbox gateway's page."""

from django.shortcuts import render

from accounts.decorators import organization_required


@organization_required(billing=True)
def top_up(request):
    return render(request, "billing/top_up.html", {})
