"""Every API error has the shape ``{"error": "<code>", "detail": ...}``, and bad input of any shape is a 4xx.

Input the views validate gets their own codes. What slips past them into a query (a well-formed cursor whose
position is not a valid value of the ordering field, a number out of the column's range, a value PostgreSQL
refuses) is still the caller's mistake: it answers 400 ``invalid`` instead of a 500, and is logged so the view
can learn to refuse it earlier. Nothing was written: these happen in reads or roll back their transaction.
"""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "unauthorized",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}
# Raised by querysets and model fields given a value they cannot use: bad input, not a bug in the server.
_BAD_INPUT = (DjangoValidationError, DataError, ValueError, OverflowError)


def api_error(code: str, detail, http_status: int, **extra) -> Response:
    return Response({"error": code, "detail": detail, **extra}, status=http_status)


def exception_handler(exc, context):
    if isinstance(exc, exceptions.ParseError):
        return api_error("invalid_json", str(exc.detail), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.PermissionDenied) and exc.default_code == "api_suspended":
        return api_error("api_suspended", str(exc.detail), status.HTTP_403_FORBIDDEN)
    if isinstance(exc, _BAD_INPUT):
        view = context.get("view")
        logger.warning("API input refused by the database layer in %s", type(view).__name__, exc_info=exc)
        return api_error("invalid", "A parameter has a value that cannot be used.", status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.status_code = status.HTTP_401_UNAUTHORIZED
    data = response.data
    if isinstance(data, dict) and "error" in data:
        return response
    code = _CODES.get(response.status_code, "error")
    if isinstance(exc, exceptions.ValidationError):
        detail = data
    elif isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
    else:
        detail = data
    response.data = {"error": code, "detail": detail}
    return response
