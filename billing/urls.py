from django.urls import path

from . import subscription_views, views

app_name = "billing"

urlpatterns = [
    path("subscription/", subscription_views.subscription, name="subscription"),
    path("auto-top-up/", views.auto_topup, name="auto_topup"),
    path("purchases/<uuid:pk>/", views.purchase_status, name="purchase_status"),
    path("purchases/<uuid:pk>/resume/", views.purchase_resume, name="purchase_resume"),
    path("purchases/<uuid:pk>/cancel/", views.purchase_cancel_view, name="purchase_cancel"),
    path("invoices/<uuid:pk>/pay/", views.invoice_pay, name="invoice_pay"),
]
