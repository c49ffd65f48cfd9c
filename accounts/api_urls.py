from django.urls import path

from . import api

urlpatterns = [
    path("organization", api.organization_detail, name="api-organization"),
]
