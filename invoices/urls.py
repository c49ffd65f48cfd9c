"""Invoice pages, mounted under ``/billing/`` so their public URLs stay ``/billing/invoices/<uuid>/``."""

from django.urls import path

from . import views

app_name = "invoices"

urlpatterns = [
    path("invoices/<uuid:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<uuid:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
