"""Usage and balance API (DESIGN.md, "REST API"). The usage endpoints are the hot path: one query for
authentication, one lock and one statement for the charge, no serializer machinery on the way in."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_errors import api_error

from .models import LedgerEntry, MessageUsage
from .selectors import balance_and_lots, balance_for, ledger_for
from .services import (
    MESSAGE_ID_MAX_LENGTH,
    InsufficientCredits,
    UsageConflict,
    UsageExpired,
    UsageMessage,
    usage_charge,
    usage_charge_batch,
)

BATCH_MAX = 1000
# Clocks drift; a time further ahead than this is a bug in the caller, not a message.
FUTURE_TOLERANCE = timedelta(minutes=5)
DIRECTIONS = MessageUsage.Direction.values
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
EARLIEST_YEAR = 2000  # no chatbot message predates this; an earlier one is a bug in the caller


class InvalidBody(Exception):
    def __init__(self, detail):
        self.detail = detail


def _json_body(request):
    """Parse the body ourselves: anything that is not a JSON object answers 400, whatever the content type."""
    try:
        raw = request.body
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBody("The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise InvalidBody("The body must be a JSON object.")
    return data


def parse_message(data, now=None) -> tuple[UsageMessage | None, dict]:
    """Validate one message; return (message, {}) or (None, {field: [reason]})."""
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["Each message must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    message_id = data.get("message_id")
    if message_id is None:
        errors["message_id"] = ["This field is required."]
    elif not isinstance(message_id, str):
        errors["message_id"] = ["Must be a string."]
    elif not message_id.strip():
        errors["message_id"] = ["May not be blank."]
    elif len(message_id) > MESSAGE_ID_MAX_LENGTH:
        errors["message_id"] = [f"At most {MESSAGE_ID_MAX_LENGTH} characters."]
    elif not message_id.isprintable():
        errors["message_id"] = ["May not contain control characters."]
    direction = data.get("direction")
    if direction is None:
        errors["direction"] = ["This field is required."]
    elif not isinstance(direction, str) or direction not in DIRECTIONS:
        errors["direction"] = ['Must be "inbound" or "outbound".']
    occurred_at = data.get("occurred_at")
    if occurred_at is not None:
        parsed = None
        if not isinstance(occurred_at, str):
            errors["occurred_at"] = ["Must be an ISO 8601 date-time string."]
        else:
            try:
                parsed = parse_datetime(occurred_at)
            except ValueError:
                parsed = None
            if parsed is None:
                errors["occurred_at"] = ["Must be an ISO 8601 date-time, e.g. 2025-07-01T10:00:00+07:00."]
            elif parsed.tzinfo is None:
                errors["occurred_at"] = ["Must include a UTC offset, e.g. +07:00 or Z."]
                parsed = None
            elif abs(parsed.utcoffset() or timedelta(0)) > MAX_UTC_OFFSET:
                # ISO 8601 allows offsets up to 23:59; PostgreSQL stores none beyond 15:59 (real ones stop at 14:00).
                errors["occurred_at"] = ["The UTC offset must be between -15:59 and +15:59."]
                parsed = None
            elif parsed.year < EARLIEST_YEAR:
                errors["occurred_at"] = [f"Must be in {EARLIEST_YEAR} or later."]
                parsed = None
            elif parsed > (now or timezone.now()) + FUTURE_TOLERANCE:
                errors["occurred_at"] = ["May not be in the future."]
                parsed = None
        occurred_at = parsed
    if errors:
        return None, errors
    assert isinstance(message_id, str) and isinstance(direction, str)  # narrowed by the checks above
    return UsageMessage(message_id, direction, occurred_at), {}


_message_request = inline_serializer(
    "UsageMessageRequest",
    {
        "message_id": serializers.CharField(max_length=MESSAGE_ID_MAX_LENGTH),
        "direction": serializers.ChoiceField(choices=DIRECTIONS),
        "occurred_at": serializers.DateTimeField(required=False, allow_null=True),
    },
)
_charge_response = inline_serializer(
    "UsageCharged",
    {
        "message_id": serializers.CharField(),
        "charged": serializers.IntegerField(),
        "balance": serializers.IntegerField(),
    },
)
_error = inline_serializer("Error", {"error": serializers.CharField(), "detail": serializers.JSONField()})


class UsageMessageView(APIView):
    @extend_schema(
        summary="Charge one credit for one chatbot message",
        description=(
            "Charged at most once per message_id: a retry with the same fields answers 200 with the same body. "
            "Deduplication holds for USAGE_DEDUP_WINDOW_DAYS (35): a message whose occurred_at is older than that "
            "answers 409 message_id_expired and is not charged."
        ),
        request=_message_request,
        responses={
            201: _charge_response,
            200: OpenApiResponse(_charge_response, description="Replay: already charged, nothing charged again."),
            400: _error,
            402: inline_serializer(
                "InsufficientCredits",
                {
                    "error": serializers.CharField(),
                    "detail": serializers.CharField(),
                    "balance": serializers.IntegerField(),
                },
            ),
            403: _error,
            409: _error,
        },
        examples=[OpenApiExample("message", value={"message_id": "wamid.HBgM123", "direction": "outbound"})],
    )
    def post(self, request):
        try:
            message, errors = parse_message(_json_body(request))
        except InvalidBody as exc:
            return api_error("invalid_json", exc.detail, status.HTTP_400_BAD_REQUEST)
        if errors or message is None:
            return api_error("invalid", errors, status.HTTP_400_BAD_REQUEST)
        try:
            result = usage_charge(
                organization=request.user.organization,
                message_id=message.message_id,
                direction=message.direction,
                occurred_at=message.occurred_at,
            )
        except InsufficientCredits as exc:
            return api_error(
                "insufficient_credits",
                "Not enough credits. Top up to continue.",
                status.HTTP_402_PAYMENT_REQUIRED,
                balance=exc.balance,
            )
        except UsageConflict:
            return api_error(
                "conflict", "This message_id was already charged with other fields.", status.HTTP_409_CONFLICT
            )
        except UsageExpired:
            return api_error(
                "message_id_expired",
                f"This message occurred more than {settings.USAGE_DEDUP_WINDOW_DAYS} days ago, outside the "
                "deduplication window: it cannot be charged exactly once and is not charged.",
                status.HTTP_409_CONFLICT,
            )
        return Response(result.as_dict(), status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class UsageBatchView(APIView):
    @extend_schema(
        summary="Charge up to 1,000 chatbot messages at once",
        description=(
            "Results are in request order with the same outcome as one call per message. "
            "`invalid` is a message that failed validation or reuses a message_id with other fields."
        ),
        request=inline_serializer("UsageBatchRequest", {"messages": serializers.ListField(child=_message_request)}),
        responses={
            200: inline_serializer(
                "UsageBatchResult",
                {
                    "results": serializers.ListField(
                        child=inline_serializer(
                            "UsageBatchItem",
                            {
                                "message_id": serializers.CharField(allow_null=True),
                                "status": serializers.ChoiceField(
                                    choices=["charged", "duplicate", "insufficient_credits", "invalid"]
                                ),
                                "detail": serializers.JSONField(required=False),
                            },
                        )
                    ),
                    "balance": serializers.IntegerField(),
                },
            ),
            400: _error,
            403: _error,
        },
    )
    def post(self, request):
        try:
            data = _json_body(request)
        except InvalidBody as exc:
            return api_error("invalid_json", exc.detail, status.HTTP_400_BAD_REQUEST)
        items = data.get("messages")
        if not isinstance(items, list):
            return api_error("invalid", {"messages": ["A list of messages is required."]}, status.HTTP_400_BAD_REQUEST)
        if not items:
            return api_error(
                "invalid", {"messages": ["At least one message is required."]}, status.HTTP_400_BAD_REQUEST
            )
        if len(items) > BATCH_MAX:
            return api_error(
                "invalid", {"messages": [f"At most {BATCH_MAX} messages per batch."]}, status.HTTP_400_BAD_REQUEST
            )
        now = timezone.now()
        results: list[dict | None] = []
        valid: list[UsageMessage] = []
        for item in items:
            message, errors = parse_message(item, now)
            if message is None:
                mid = item.get("message_id") if isinstance(item, dict) else None
                results.append(
                    {"message_id": mid if isinstance(mid, str) else None, "status": "invalid", "detail": errors}
                )
            else:
                valid.append(message)
                results.append(None)
        charged, balance = usage_charge_batch(organization=request.user.organization, messages=valid)
        it = iter(charged)
        out = [r if r is not None else next(it) for r in results]
        if not valid:
            balance = balance_for(request.user.organization)
        return Response({"results": out, "balance": balance})


class BalanceView(APIView):
    @extend_schema(
        summary="Current balance and the spendable lots, soonest-expiring first",
        responses=inline_serializer(
            "CreditBalance",
            {
                "balance": serializers.IntegerField(),
                "lots": serializers.ListField(
                    child=inline_serializer(
                        "CreditLotBrief",
                        {
                            "id": serializers.UUIDField(),
                            "source": serializers.CharField(),
                            "credits": serializers.IntegerField(),
                            "remaining": serializers.IntegerField(),
                            "granted_at": serializers.DateTimeField(),
                            "expires_at": serializers.DateTimeField(),
                        },
                    )
                ),
            },
        ),
    )
    def get(self, request):
        balance, lots = balance_and_lots(request.user.organization)
        return Response(
            {
                "balance": balance,
                "lots": [
                    {
                        "id": str(lot["id"]),
                        "source": lot["source"],
                        "credits": lot["credits"],
                        "remaining": lot["remaining"],
                        "granted_at": lot["granted_at"].isoformat(),
                        "expires_at": lot["expires_at"].isoformat(),
                    }
                    for lot in lots
                ],
            }
        )


class LedgerEntrySerializer(serializers.ModelSerializer):
    lot_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "delta", "balance_after", "lot_id", "reference", "reason", "created_at"]
        extra_kwargs = {
            "reason": {
                "help_text": "The entry's reason as stored: Saldo's own texts in English (the dashboard shows them "
                "in the reader's language), a staff member's reason as they wrote it."
            }
        }


class LedgerPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class LedgerView(APIView):
    pagination_class = LedgerPagination

    @extend_schema(
        summary="Ledger entries, newest first (cursor pagination)", responses=LedgerEntrySerializer(many=True)
    )
    def get(self, request):
        paginator = self.pagination_class()
        queryset = ledger_for(request.user.organization)
        kind = request.query_params.get("kind")
        if kind:
            if kind not in LedgerEntry.Kind.values:
                return api_error("invalid", {"kind": [f"One of {', '.join(LedgerEntry.Kind.values)}."]}, 400)
            queryset = queryset.filter(kind=kind)
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(LedgerEntrySerializer(page, many=True).data)
