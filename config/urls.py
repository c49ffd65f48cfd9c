from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from console.views import healthz

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("credits.api_urls")),
    path("", include("invoices.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("conversations.api_urls")),
    path("", include("events.api_urls")),
]

# Machine routes first: the webhooks and the API are the traffic that counts in thousands per second, and the
# resolver tries patterns in order.
urlpatterns = [
    path("webhooks/", include("billing.webhook_urls")),
    path("webhooks/", include("conversations.webhook_urls")),
    path("api/v1/", include(api_v1)),
    path("", include("credits.urls")),
    path("credits/", include("billing.topup_urls")),
    path("accounts/", include("accounts.urls")),
    path("settings/", account_views.settings_page, name="settings"),
    path("settings/webhooks/", include("events.urls")),
    path("billing/", include("invoices.urls")),
    path("billing/", include("billing.urls")),
    path("conversations/", include("conversations.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

handler500 = "config.errors.server_error"
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
