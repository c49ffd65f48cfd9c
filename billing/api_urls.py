from django.urls import path

from . import api

urlpatterns = [
    path("purchases", api.PurchaseListView.as_view(), name="api-purchases"),
    path("purchases/<uuid:pk>", api.PurchaseDetailView.as_view(), name="api-purchase"),
]
