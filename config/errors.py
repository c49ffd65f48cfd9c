"""Branded error pages that never depend on the database (a 500 may be the database's fault)."""

from django.http import HttpResponseServerError
from django.template import loader


def server_error(request, template_name="500.html"):
    template = loader.get_template(template_name)
    return HttpResponseServerError(template.render({"request_id": getattr(request, "request_id", "")}))
