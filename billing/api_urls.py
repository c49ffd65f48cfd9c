from django.urls import path

from . import api, invoice_api

urlpatterns = [
    path("purchases", api.PurchaseListView.as_view(), name="api-purchases"),
    path("purchases/<uuid:pk>", api.PurchaseDetailView.as_view(), name="api-purchase"),
    path("invoices", invoice_api.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<uuid:pk>", invoice_api.InvoiceDetailView.as_view(), name="api-invoice"),
    path("invoices/<uuid:pk>/pdf", invoice_api.InvoicePdfView.as_view(), name="api-invoice-pdf"),
]
