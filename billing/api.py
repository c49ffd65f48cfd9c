"""REST API for purchases: ``GET/POST /api/v1/purchases``, ``GET /api/v1/purchases/<uuid>``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_errors import api_error

from .gateways import GatewayError
from .selectors.purchases import purchase_for, purchases_for
from .serializers import PurchaseSerializer
from .services.purchases import PurchaseError, purchase_create, validate_credits


class PurchaseCreateSerializer(serializers.Serializer):
    credits = serializers.IntegerField(help_text="A positive multiple of 1,000.")

    def validate_credits(self, value):
        try:
            return validate_credits(value)
        except PurchaseError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class PurchasePagination(CursorPagination):
    ordering = "-created_at"
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"


class PurchaseListView(APIView):
    pagination_class = PurchasePagination  # also tells the schema the list is paginated

    @extend_schema(
        summary="Purchases of the API key's organization, newest first (cursor-paginated)",
        responses=PurchaseSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(purchases_for(request.user.organization), request, view=self)
        data = PurchaseSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        summary="Buy credits: creates the purchase, its unpaid invoice and a payment session",
        request=PurchaseCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Send the same key again to get the same response (201, header Idempotent-Replayed: true) "
                "and the same purchase instead of a new one.",
            )
        ],
        responses={
            201: PurchaseSerializer,
            400: OpenApiResponse(description="credits is not a positive multiple of 1,000"),
            409: OpenApiResponse(description="Idempotency-Key reused with different credits"),
            502: OpenApiResponse(description="The payment gateway could not be reached"),
        },
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            return api_error("invalid", "Expected a JSON object.", status.HTTP_400_BAD_REQUEST)
        serializer = PurchaseCreateSerializer(data=request.data)
        if not serializer.is_valid():
            detail = serializer.errors.get("credits", serializer.errors)
            code = "invalid_credits" if "credits" in serializer.errors else "invalid"
            return api_error(code, detail, status.HTTP_400_BAD_REQUEST)
        credits = serializer.validated_data["credits"]
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if len(key) > 100:
            return api_error("invalid", "Idempotency-Key is at most 100 characters.", status.HTTP_400_BAD_REQUEST)
        organization = request.user.organization
        try:
            purchase = purchase_create(organization=organization, credits=credits, idempotency_key=key)
        except GatewayError:
            return api_error(
                "gateway_unavailable",
                "The payment gateway could not be reached; nothing was created.",
                status.HTTP_502_BAD_GATEWAY,
            )
        except PurchaseError as exc:
            return api_error(exc.code, str(exc), status.HTTP_400_BAD_REQUEST)
        data = PurchaseSerializer(purchase, context={"request": request}).data
        if getattr(purchase, "created", True):
            return Response(data, status=status.HTTP_201_CREATED)
        if purchase.credits != credits:
            return api_error(
                "idempotency_conflict",
                "This Idempotency-Key was used for a purchase of other credits.",
                status.HTTP_409_CONFLICT,
                purchase_id=str(purchase.pk),
            )
        # A replay answers exactly as the first call did (as Stripe and the IETF Idempotency-Key draft do),
        # marked with Idempotent-Replayed so a client can tell.
        response = Response(data, status=status.HTTP_201_CREATED)
        response["Idempotent-Replayed"] = "true"
        return response


class PurchaseDetailView(APIView):
    @extend_schema(summary="One purchase and its status", responses=PurchaseSerializer)
    def get(self, request, pk):
        purchase = purchase_for(request.user.organization, pk)
        return Response(PurchaseSerializer(purchase, context={"request": request}).data)
