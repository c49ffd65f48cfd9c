from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("credits/ledger.csv", views.ledger_csv, name="ledger_csv"),
]
