"""The top-up flow lives under /credits/ in the URL space but belongs to billing."""

from django.urls import path

from . import views

app_name = "topup"

urlpatterns = [
    path("top-up/", views.top_up, name="top_up"),
]
