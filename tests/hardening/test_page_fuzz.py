"""Hypothesis against the pages' filters: every page a business user or staff opens with a query string, given
arbitrary values for the parameters it reads (month, status, search, page numbers, credits, …) and for
parameters it does not know. Never a 5xx; the answer is the page, a redirect, or a 4xx."""

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

FUZZ = hsettings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PAGES = ["/", "/credits/top-up/", "/credits/top-up/summary/", "/billing/subscription/", "/conversations/", "/settings/"]
PARAMS = ["month", "status", "q", "page", "ppage", "purchase_status", "credits", "return", "kind", "cursor"]
STAFF_PAGES = [
    "/admin/",
    "/admin/accounts/organization/",
    "/admin/billing/purchase/",
    "/admin/billing/invoice/",
    "/admin/credits/ledgerentry/",
    "/admin/conversations/conversation/",
]
STAFF_PARAMS = ["q", "p", "o", "month", "refresh", "organization", "status__exact", "created_at__gte", "e", "all"]

# Any characters, NUL included, and the values that break parsers: huge numbers, months out of range.
VALUES = (
    st.text(st.characters(codec="utf-8"), max_size=30)
    | st.sampled_from(["9999-12", "0000-00", "2025-13", "-1", "0", "1e309", "9" * 50, "2025-07", "1000", "%00"])
    | st.integers(min_value=-(10**20), max_value=10**20).map(str)
)


def query(known: list[str]):
    keys = st.sampled_from(known) | st.text(max_size=10)
    return st.lists(st.tuples(keys, VALUES), max_size=4).map(urlencode)


def assert_no_server_error(response, url):
    assert response.status_code < 500, (url, response.status_code)


@FUZZ
@given(page=st.sampled_from(PAGES), qs=query(PARAMS))
def test_no_filter_value_makes_a_page_fail(owner_client, page, qs):
    url = f"{page}?{qs}"
    assert_no_server_error(owner_client.get(url), url)


@FUZZ
@given(page=st.sampled_from(STAFF_PAGES), qs=query(STAFF_PARAMS))
def test_no_filter_value_makes_a_staff_page_fail(client, staff, page, qs):
    client.force_login(staff)
    url = f"{page}?{qs}"
    assert_no_server_error(client.get(url), url)


@FUZZ
@given(qs=query(["next", "hub.mode", "hub.verify_token", "hub.challenge"]))
def test_no_query_makes_the_public_pages_fail(client, qs):
    for page in ("/accounts/login/", "/healthz", "/webhooks/whatsapp"):
        url = f"{page}?{qs}"
        assert_no_server_error(client.get(url), url)


FORMS = {
    "/accounts/login/": ["username", "password", "next"],
    "/accounts/switch/": ["organization", "next"],
    "/credits/top-up/pay/": ["credits", "idempotency_key", "legal_name", "npwp", "address", "email", "save_details"],
    "/settings/": ["action", "name", "key_id", "invitation_id", "membership_id", "email", "role", "threshold"],
}
FORM_VALUES = VALUES | st.text(st.characters(codec="utf-8", categories=["Cc"]), max_size=5)


def form(known: list[str]):
    return st.dictionaries(st.sampled_from(known) | st.text(max_size=8), FORM_VALUES, max_size=6)


@FUZZ
@given(url=st.sampled_from(list(FORMS)), data=st.data())
def test_no_form_input_makes_a_form_fail(owner_client, url, data):
    fields = data.draw(form(FORMS[url]))
    assert_no_server_error(owner_client.post(url, fields), url)


@FUZZ
@given(fields=form(FORMS["/accounts/login/"]))
def test_no_login_input_makes_the_login_fail(client, fields):
    assert_no_server_error(client.post("/accounts/login/", fields), "/accounts/login/")
