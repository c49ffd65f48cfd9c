"""REST API: the organization's WhatsApp conversations and their monthly totals."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_errors import api_error
from core.money import round_rupiah

from . import selectors
from .models import Conversation

MONTH_PARAM = OpenApiParameter(
    "month", OpenApiTypes.STR, OpenApiParameter.QUERY, description="YYYY-MM (Asia/Jakarta); default: this month"
)


class ConversationSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="masked_customer", help_text="Masked customer number")
    price = serializers.SerializerMethodField()
    billable = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id", "pricing_model", "key", "message_id", "customer", "country", "market", "category",
            "opened_at", "billable", "price", "currency", "free_reason",
        ]  # fmt: skip

    def get_price(self, obj) -> int:
        return round_rupiah(obj.price)

    def get_billable(self, obj) -> bool:
        return obj.price > 0

    def get_currency(self, obj) -> str:
        return "IDR"


class ConversationPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _month(request):
    raw = request.query_params.get("month")
    if raw is None or raw == "":
        return selectors.current_month(), None
    month = selectors.parse_month(raw)
    if month is None:
        return None, api_error("invalid_month", _("month must be YYYY-MM."), status.HTTP_400_BAD_REQUEST)
    return month, None


class CategoryTotalsSerializer(serializers.Serializer):
    billable = serializers.IntegerField()
    free = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="Rupiah, before tax")


class CategoriesSerializer(serializers.Serializer):
    marketing = CategoryTotalsSerializer()
    utility = CategoryTotalsSerializer()
    authentication = CategoryTotalsSerializer()
    service = CategoryTotalsSerializer()


class MonthSummarySerializer(serializers.Serializer):
    month = serializers.CharField()
    currency = serializers.CharField()
    categories = CategoriesSerializer()
    total_amount = serializers.IntegerField()


class ConversationListView(APIView):
    pagination_class = ConversationPagination

    @extend_schema(
        summary="Conversations (CBP) and charged messages (PMP) of a month, newest first",
        parameters=[MONTH_PARAM],
        responses=ConversationSerializer(many=True),
    )
    def get(self, request):
        month, error = _month(request)
        if error:
            return error
        queryset = selectors.conversations_for(organization=request.user.organization, month=month)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(ConversationSerializer(page, many=True).data)


class ConversationSummaryView(APIView):
    @extend_schema(
        summary="Per-category totals of a month (the current month is a running estimate)",
        parameters=[MONTH_PARAM],
        responses=MonthSummarySerializer,
    )
    def get(self, request):
        month, error = _month(request)
        if error:
            return error
        return Response(selectors.month_summary(organization=request.user.organization, month=month))
