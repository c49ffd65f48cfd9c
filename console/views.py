"""/healthz: JSON, no login, for the load balancer and the monitor."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
