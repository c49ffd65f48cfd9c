from django.urls import path

from . import api

urlpatterns = [
    path("usage/messages", api.UsageMessageView.as_view(), name="api-usage-message"),
    path("usage/messages/batch", api.UsageBatchView.as_view(), name="api-usage-batch"),
    path("credits/balance", api.BalanceView.as_view(), name="api-credits-balance"),
    path("credits/ledger", api.LedgerView.as_view(), name="api-credits-ledger"),
]
