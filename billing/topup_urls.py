"""The top-up flow lives under /credits/ in the URL space but belongs to billing."""

from django.urls import path

from . import views

app_name = "topup"

urlpatterns = [
    path("top-up/", views.top_up, name="top_up"),
    path("top-up/summary/", views.summary, name="summary"),
    path("top-up/pay/", views.pay_now, name="pay_now"),
    path("sandbox/<str:ref>/", views.sandbox_page, name="sandbox_page"),
    path("sandbox/<str:ref>/<slug:method>/", views.sandbox_method_page, name="sandbox_method_page"),
]
