"""REST API for invoices: ``GET /api/v1/invoices``, ``/api/v1/invoices/<uuid>``, ``/api/v1/invoices/<uuid>/pdf``."""

from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_errors import api_error

from .models import Invoice
from .selectors import invoice_for, invoices_for, parse_month
from .serializers import InvoiceSerializer
from .services import invoice_pdf_bytes


class InvoicePagination(CursorPagination):
    ordering = ("-issued_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"


class PaymentRequestPagination(InvoicePagination):
    # Payment requests have no issue date yet: newest created first.
    ordering = ("-created_at", "-id")


STATUS_FILTERS = ("issued", "paid", "void", "request")


class InvoiceListView(APIView):
    pagination_class = InvoicePagination  # also tells the schema the list is paginated

    @extend_schema(
        summary="Invoices of the API key's organization, newest first (cursor-paginated)",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=list(STATUS_FILTERS),
                description="`request` lists the open payment requests (unnumbered, waiting for payment) instead "
                "of invoices",
            ),
            OpenApiParameter("kind", str, enum=list(Invoice.Kind.values)),
            OpenApiParameter("month", str, description="Issue month, YYYY-MM (Asia/Jakarta)"),
            OpenApiParameter("limit", int),
        ],
        responses=InvoiceSerializer(many=True),
    )
    def get(self, request):
        month_param = request.query_params.get("month")
        month = parse_month(month_param)
        if month_param and month is None:
            return api_error("invalid", {"month": ["Use YYYY-MM."]}, 400)
        status_param = request.query_params.get("status")
        if status_param and status_param not in STATUS_FILTERS:
            return api_error("invalid", {"status": ["Use issued, paid, void or request."]}, 400)
        qs = invoices_for(
            request.user.organization, status=status_param, kind=request.query_params.get("kind"), month=month
        )
        paginator = PaymentRequestPagination() if status_param == "request" else self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = InvoiceSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class InvoiceDetailView(APIView):
    @extend_schema(summary="One invoice with its lines", responses={200: InvoiceSerializer, 404: OpenApiResponse()})
    def get(self, request, pk):
        invoice = invoice_for(request.user.organization, pk)
        return Response(InvoiceSerializer(invoice, context={"request": request}).data)


class PdfRenderer(BaseRenderer):
    """Lets clients ask for ``Accept: application/pdf``; errors still go out as JSON bytes."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


class InvoicePdfView(APIView):
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        summary="The invoice PDF (served from storage; rendered only if missing)",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: OpenApiResponse()},
    )
    def get(self, request, pk):
        invoice = invoice_for(request.user.organization, pk)
        return pdf_response(invoice, invoice_pdf_bytes(invoice=invoice))

    def finalize_response(self, request, response, *args, **kwargs):
        # An error (401, 404, ...) is JSON whatever the client asked for: never a body labelled application/pdf.
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def pdf_response(invoice: Invoice, content: bytes, *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{invoice.pdf_filename}"'
    response["Content-Length"] = str(len(content))
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
