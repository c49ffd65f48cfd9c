from django.urls import path

from . import invoice_views

app_name = "billing"

urlpatterns = [
    path("subscription/", invoice_views.subscription, name="subscription"),
]
