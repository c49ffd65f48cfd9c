from django.shortcuts import render

from accounts.decorators import organization_required


@organization_required
def dashboard(request):
    return render(request, "credits/dashboard.html", {})
