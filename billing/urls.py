from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("subscription/", views.subscription, name="subscription"),
]
