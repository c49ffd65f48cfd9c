"""Issue 19: the top-up form states its limits up front, accepts amounts as people write them ("15.000") and
answers every bad amount with one of validate_credits' own translated messages."""

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.forms import AutoTopUpForm, ChooseCreditsForm
from billing.selectors.purchases import MAX_CREDITS
from billing.services import credit_limits

pytestmark = pytest.mark.django_db


def test_it_states_the_limits_on_the_page(owner_client):
    html = owner_client.get("/credits/top-up/").content.decode()
    assert "From 1.000 to 10.000.000 credits, in multiples of 1.000." in html
    assert 'id="credit-limits"' in html  # the same limits and words for the live check


def test_it_reads_an_amount_with_thousands_separators(owner_client):
    response = owner_client.get("/credits/top-up/", {"credits": "15.000"})
    assert response.status_code == 302
    assert response.url.endswith("/credits/top-up/summary/?credits=15000")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1500", "Credits must be a positive multiple of 1,000."),
        ("1.500", "Credits must be a positive multiple of 1,000."),
        ("0", "Credits must be a positive multiple of 1,000."),
        ("abc", "Credits must be a positive multiple of 1,000."),
        ("1000000000000", "At most 10.000.000 credits per purchase."),
        (str(MAX_CREDITS + 1000), "At most 10.000.000 credits per purchase."),
    ],
)
def test_it_answers_a_bad_amount_with_one_message(owner_client, typed, message):
    response = owner_client.get("/credits/top-up/", {"credits": typed})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<p class="field-error" id="credits-error" aria-live="polite">{message}</p>' in html
    assert "less than or equal" not in html and "greater than" not in html
    assert 'aria-invalid="true"' in html


def test_it_says_the_limits_in_indonesian(owner_client):
    owner_client.cookies["django_language"] = "id"
    html = owner_client.get("/credits/top-up/", {"credits": "1500"}).content.decode()
    with translation.override("id"):
        limits = credit_limits()
    assert limits["help"] in html and limits["step_message"] in html
    assert "multiple of 1,000" not in limits["step_message"]


@translation.override("en")
def test_the_auto_top_up_form_uses_the_same_messages():
    form = AutoTopUpForm({"enabled": "on", "threshold": "0", "credits": "99.999.000.000"})
    assert not form.is_valid()
    assert form.errors["credits"] == ["At most 10.000.000 credits per purchase."]
    assert form.errors["threshold"] == ["Choose a threshold from 1 to 100.000.000 credits."]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=30), st.integers(min_value=-(10**15), max_value=10**15).map(str)))
@translation.override("en")
def test_every_input_is_a_valid_amount_or_one_of_the_two_messages(typed):
    form = ChooseCreditsForm({"credits": typed})
    limits = credit_limits()
    if form.is_valid():
        credits = form.cleaned_data["credits"]
        assert 0 < credits <= MAX_CREDITS and credits % 1000 == 0
    else:
        assert form.errors["credits"] in (
            [limits["step_message"]],
            [limits["max_message"]],
            ["Choose a number of credits in multiples of 1,000."],
        )
