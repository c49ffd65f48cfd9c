from django.urls import path

from . import api

urlpatterns = [
    path("webhook-endpoints", api.WebhookEndpointListView.as_view(), name="api-webhook-endpoints"),
    path("webhook-endpoints/<uuid:pk>", api.WebhookEndpointDetailView.as_view(), name="api-webhook-endpoint"),
    path(
        "webhook-endpoints/<uuid:pk>/roll-secret",
        api.WebhookEndpointRollSecretView.as_view(),
        name="api-webhook-endpoint-roll-secret",
    ),
    path("events", api.EventListView.as_view(), name="api-events"),
    path("events/<uuid:pk>", api.EventDetailView.as_view(), name="api-event"),
]
