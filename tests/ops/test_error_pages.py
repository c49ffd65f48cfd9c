"""Error pages: branded, in the reader's language (``<html lang>`` too), with the favicon and a way home; the 500
page needs neither a request context nor the database."""

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponse
from django.test import Client, override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_protect


def bad(request):
    raise SuspiciousOperation("tampered")


def forbidden(request):
    raise PermissionDenied


def missing(request):
    raise Http404


def boom(request):
    raise RuntimeError("secret internals")


@csrf_protect
def form(request):
    return HttpResponse("saved")


urlpatterns = [
    path("raise/400", bad),
    path("raise/403", forbidden),
    path("raise/404", missing),
    path("raise/500", boom),
    path("form", form),
]
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

HEADINGS = {
    400: {"en": "This request could not be read", "id": "Permintaan ini tidak dapat dibaca"},
    403: {"en": "You can't open this page", "id": "Anda tidak dapat membuka halaman ini"},
    404: {"en": "Page not found", "id": "Halaman tidak ditemukan"},
    500: {"en": "Something went wrong on our side", "id": "Terjadi kesalahan di sistem kami"},
}
HOME = {"en": "Back to the dashboard", "id": "Kembali ke dasbor"}


def _client(language: str, **kwargs) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def assert_error_page(response, status: int, language: str, heading: str) -> None:
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert f'<html lang="{language}">' in html
    assert f"<h1>{heading}</h1>" in html
    assert f'<a class="btn" href="/">{HOME[language]}</a>' in html
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    assert 'href="/static/css/app.css"' in html
    assert "secret internals" not in html and "Traceback" not in html


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize("status", [400, 403, 404, 500])
@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_each_error_page_speaks_the_readers_language(status, language):
    # No database marker: none of these pages, the 500 least of all, may need the database.
    response = _client(language).get(f"/raise/{status}")
    assert_error_page(response, status, language, HEADINGS[status][language])


@pytest.mark.parametrize("language", ["en", "id"])
@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_the_500_page_follows_accept_language_without_a_cookie(language):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=f"{language};q=1.0")
    assert_error_page(client.get("/raise/500"), 500, language, HEADINGS[500][language])


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "This form has expired"), ("id", "Formulir ini sudah kedaluwarsa")]
)
@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_stale_form_gets_a_branded_csrf_page(language, heading):
    response = _client(language, enforce_csrf_checks=True).post("/form", {"x": "1"})
    assert_error_page(response, 403, language, heading)


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_another_organizations_invoice_is_a_404_in_indonesian(owner_client):
    owner_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "id"
    response = owner_client.get("/billing/invoices/00000000-0000-0000-0000-000000000000/")
    assert_error_page(response, 404, "id", HEADINGS[404]["id"])
