from django.urls import path

from . import views

app_name = "events"

urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("<uuid:pk>/", views.endpoint_detail, name="endpoint"),
]
