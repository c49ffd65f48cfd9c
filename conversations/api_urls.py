from django.urls import path

from . import api

urlpatterns = [
    path("conversations", api.ConversationListView.as_view(), name="api-conversations"),
    path("conversations/summary", api.ConversationSummaryView.as_view(), name="api-conversations-summary"),
]
