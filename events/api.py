"""Webhook endpoints and events over the API (DESIGN.md "REST API"), scoped to the key's organization: another
organization's id answers 404. A signing secret is in the answer only on create and on roll."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_errors import api_error

from . import selectors, services
from .models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from .types import ALL_TYPES, EVENT_TYPES

MAX_ENDPOINTS = 20


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.CharField(), help_text="Empty: every event type.")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "consecutive_failures",
            "last_success_at",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…), shown only in this answer.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointWriteSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)), required=False, max_length=len(EVENT_TYPES)
    )
    enabled = serializers.BooleanField(required=False)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "latency_ms", "succeeded", "response_excerpt", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    endpoint_id = serializers.UUIDField()
    attempt_log = DeliveryAttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint_id",
            "status",
            "attempts",
            "next_attempt_at",
            "delivered_at",
            "last_status_code",
            "attempt_log",
        ]


class EventSerializer(serializers.ModelSerializer):
    payload = serializers.JSONField(help_text="The object as the API shows it (purchase, invoice, balance…).")

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "payload"]


class EventDetailSerializer(EventSerializer):
    deliveries = DeliverySerializer(many=True)

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "deliveries"]


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> dict:
    return {**WebhookEndpointSerializer(endpoint).data, "secret": secret}


def _invalid(serializer) -> Response:
    return api_error("invalid", serializer.errors, status.HTTP_400_BAD_REQUEST)


def _endpoint(request, pk) -> WebhookEndpoint | None:
    try:
        return selectors.endpoint_for(request.user.organization, pk)
    except WebhookEndpoint.DoesNotExist:
        return None


def _not_found() -> Response:
    return api_error("not_found", "No such webhook endpoint.", status.HTTP_404_NOT_FOUND)


class WebhookEndpointListView(APIView):
    @extend_schema(summary="The organization's webhook endpoints", responses=WebhookEndpointSerializer(many=True))
    def get(self, request):
        endpoints = selectors.endpoints_for(request.user.organization)
        return Response(WebhookEndpointSerializer(endpoints, many=True).data)

    @extend_schema(
        summary="Add a webhook endpoint; the answer carries its signing secret, shown only once",
        request=WebhookEndpointWriteSerializer,
        responses={201: WebhookEndpointWithSecretSerializer, 400: OpenApiResponse(description="Invalid or unsafe URL")},
    )
    def post(self, request):
        serializer = WebhookEndpointWriteSerializer(data=request.data)
        if not serializer.is_valid():
            return _invalid(serializer)
        organization = request.user.organization
        if selectors.endpoints_for(organization).count() >= MAX_ENDPOINTS:
            return api_error(
                "too_many_endpoints",
                f"At most {MAX_ENDPOINTS} endpoints per organization.",
                status.HTTP_400_BAD_REQUEST,
            )
        try:
            endpoint, secret = services.endpoint_create(organization=organization, **serializer.validated_data)
        except services.EndpointError as exc:
            return api_error("invalid", {exc.field: [str(exc)]}, status.HTTP_400_BAD_REQUEST)
        return Response(_with_secret(endpoint, secret), status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(APIView):
    @extend_schema(summary="One webhook endpoint", responses={200: WebhookEndpointSerializer, 404: OpenApiResponse()})
    def get(self, request, pk):
        endpoint = _endpoint(request, pk)
        if endpoint is None:
            return _not_found()
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Change a webhook endpoint (URL, description, event types, enabled)",
        request=WebhookEndpointWriteSerializer(partial=True),
        responses={200: WebhookEndpointSerializer, 404: OpenApiResponse()},
    )
    def patch(self, request, pk):
        endpoint = _endpoint(request, pk)
        if endpoint is None:
            return _not_found()
        serializer = WebhookEndpointWriteSerializer(data=request.data, partial=True)
        if not serializer.is_valid():
            return _invalid(serializer)
        try:
            endpoint = services.endpoint_update(endpoint=endpoint, **serializer.validated_data)
        except services.EndpointError as exc:
            return api_error("invalid", {exc.field: [str(exc)]}, status.HTTP_400_BAD_REQUEST)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(summary="Delete a webhook endpoint", responses={204: None, 404: OpenApiResponse()})
    def delete(self, request, pk):
        endpoint = _endpoint(request, pk)
        if endpoint is None:
            return _not_found()
        services.endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRollSecretView(APIView):
    @extend_schema(
        summary="Roll the signing secret: the new one is in the answer (once); the old one signs alongside for 24 h",
        request=None,
        responses={200: WebhookEndpointWithSecretSerializer, 404: OpenApiResponse()},
    )
    def post(self, request, pk):
        endpoint = _endpoint(request, pk)
        if endpoint is None:
            return _not_found()
        endpoint, secret = services.endpoint_roll_secret(endpoint=endpoint)
        return Response(_with_secret(endpoint, secret))


class EventPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"


class EventListView(APIView):
    pagination_class = EventPagination  # also tells the schema the list is paginated

    @extend_schema(
        summary="Events emitted for the organization, newest first (cursor-paginated)",
        parameters=[OpenApiParameter("type", str, enum=ALL_TYPES), OpenApiParameter("limit", int)],
        responses=EventSerializer(many=True),
    )
    def get(self, request):
        event_type = request.query_params.get("type")
        if event_type and event_type not in ALL_TYPES:
            return api_error("invalid", {"type": ["Unknown event type."]}, status.HTTP_400_BAD_REQUEST)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.events_for(request.user.organization, event_type=event_type), request, view=self
        )
        return paginator.get_paginated_response(EventSerializer(page, many=True).data)


class EventDetailView(APIView):
    @extend_schema(
        summary="One event with its deliveries and every attempt",
        responses={200: EventDetailSerializer, 404: OpenApiResponse()},
    )
    def get(self, request, pk):
        try:
            event = selectors.event_for(request.user.organization, pk)
        except Event.DoesNotExist:
            return api_error("not_found", "No such event.", status.HTTP_404_NOT_FOUND)
        return Response(EventDetailSerializer(event).data)
