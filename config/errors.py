"""Branded error pages that never depend on the database (a 500 may be the database's fault), and JSON errors
(``{"error", "detail"}``) for the machine surfaces, /api/ and /webhooks/, whose callers read no HTML: a URL
that matches no API route (``/api/v1/purchases/not-a-uuid``) is a JSON 404 like any other."""

from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils import translation
from django.views import defaults

from core.limits import API_PREFIX, WEBHOOK_PREFIX


def _machine(request) -> bool:
    path = request.path_info
    return path.startswith(API_PREFIX) or path.startswith(WEBHOOK_PREFIX)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if _machine(request):
        return JsonResponse({"error": "invalid", "detail": "The request could not be read."}, status=400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if _machine(request):
        return JsonResponse({"error": "forbidden", "detail": "Not allowed."}, status=403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if _machine(request):
        return JsonResponse({"error": "not_found", "detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name="500.html"):
    if _machine(request):
        detail = {"error": "server_error", "detail": "Something went wrong on our side."}
        return JsonResponse({**detail, "request_id": getattr(request, "request_id", "")}, status=500)
    # No request context (context processors may need the database) and the reader's language from the cookie or
    # Accept-Language, in case the failure came before LocaleMiddleware chose it.
    language = translation.get_language_from_request(request)
    with translation.override(language):
        html = loader.get_template(template_name).render({"request_id": getattr(request, "request_id", "")})
    return HttpResponseServerError(html)
