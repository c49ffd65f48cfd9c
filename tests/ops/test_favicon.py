"""Every kind of page links the favicon, and the link is served."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

ICON = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')


def icon_of(response) -> str:
    assert response.status_code in (200, 404), response.status_code
    found = ICON.findall(response.content.decode())
    assert len(found) == 1, found
    return found[0]


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_every_base_template_links_a_favicon_that_is_served(owner_client, staff):
    staff_client = Client()
    staff_client.force_login(staff)
    pages = {
        "customer": owner_client.get("/"),
        "settings": owner_client.get("/settings/"),
        "login": Client().get("/accounts/login/"),
        "admin login": Client().get("/admin/login/"),
        "admin": staff_client.get("/admin/"),
        "admin list": staff_client.get("/admin/invoices/invoice/"),
        "error": owner_client.get("/no-such-page/"),
    }
    hrefs = {name: icon_of(response) for name, response in pages.items()}
    assert set(hrefs.values()) == {"/static/favicon.svg"}, hrefs

    served = Client().get("/static/favicon.svg")  # through WhiteNoise, as production serves it
    assert served.status_code == 200
    assert served["Content-Type"].startswith("image/svg+xml")
    body = b"".join(served.streaming_content) if served.streaming else served.content
    assert body.lstrip().startswith(b"<svg") and finders.find("favicon.svg")
