from django.shortcuts import render

from accounts.decorators import organization_required


@organization_required
def conversation_list(request):
    return render(request, "conversations/index.html", {})
