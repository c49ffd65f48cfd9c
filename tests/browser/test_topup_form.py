"""Issue 19: the amount field groups thousands as you type, says why an amount is refused (the server's
words) and never computes a total for an amount the server would refuse."""

import pytest
from django.core.management import call_command

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_methods")]


def test_it_formats_the_amount_and_explains_a_refusal(page):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    login(page, "owner@demo.saldo.id", "demo-owner-2026")
    page.goto(page.base_url + "/credits/top-up/")
    assert "From 1.000 to 10.000.000 credits, in multiples of 1.000." in page.inner_text("#credits-limits")

    page.fill("#id_credits", "")
    page.type("#id_credits", "1500")
    assert page.input_value("#id_credits") == "1.500"
    assert page.inner_text("#credits-error") == "Credits must be a positive multiple of 1,000."
    assert page.inner_text("#total") == "–"
    page.click("#continue")
    assert page.url.endswith("/credits/top-up/")  # refused in the page, nothing sent
    assert page.evaluate("document.activeElement.id") == "id_credits"

    page.fill("#id_credits", "1000000000000")
    assert page.inner_text("#credits-error") == "At most 10.000.000 credits per purchase."
    assert page.inner_text("#total") == "–"

    page.fill("#id_credits", "15000")
    assert page.input_value("#id_credits") == "15.000"
    assert page.inner_text("#credits-error") == ""
    assert page.inner_text("#total").startswith("Rp ")
    page.click("#continue")
    page.wait_for_url("**/credits/top-up/summary/?credits=15000")
