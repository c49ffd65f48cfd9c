from django.urls import path

from . import views

urlpatterns = [
    path("payments/<str:gateway>", views.payment_webhook, name="payment_webhook"),
]
