from django.urls import path

from . import api

urlpatterns = [
    path("invoices", api.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<uuid:pk>", api.InvoiceDetailView.as_view(), name="api-invoice"),
    path("invoices/<uuid:pk>/pdf", api.InvoicePdfView.as_view(), name="api-invoice-pdf"),
]
