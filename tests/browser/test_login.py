import pytest

from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_logs_the_owner_in_and_shows_the_dashboard(page, owner, password, screenshot):
    page.goto(page.base_url + "/")
    assert "/accounts/login/" in page.url
    screenshot(page, "01-login")
    login(page, "owner@tokomaju.id", password)
    assert page.locator("h1").first.inner_text() == "Dashboard"
    assert page.locator(".org-switch select").input_value()
    page.click("text=Settings")
    page.wait_for_url(page.base_url + "/settings/")
    page.fill("input[name='key-name']", "chatbot")
    page.click("text=Create key")
    key = page.locator("#new-api-key").inner_text()
    assert key.startswith("sld_")
    screenshot(page, "02-settings")


def test_it_works_on_a_phone_sized_screen(browser, live_server, owner, password, screenshot):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.base_url = live_server.url
    login(page, "owner@tokomaju.id", password)
    assert not page.locator(".sidebar").is_visible() or page.locator(".sidebar").bounding_box()["x"] < 0
    page.click(".topbar button")
    page.wait_for_timeout(300)
    assert page.locator(".sidebar .nav a", has_text="Top up").is_visible()
    screenshot(page, "03-phone-menu", full_page=False)
    context.close()
