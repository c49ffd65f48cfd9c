"""Playwright driving Debian's Chromium against pytest-django's live server.

Usage: a test takes ``page`` (a fresh browser page) and ``live_server``; mark it ``@pytest.mark.browser``.
Screenshots for the docs go to ``docs/screenshots/`` through ``screenshot(page, name)``.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base_url = live_server.url
    yield page
    context.close()


@pytest.fixture
def screenshot(tmp_path):
    """Screenshots land in docs/screenshots/ only when SALDO_SCREENSHOTS=1 (refreshing the docs on purpose);
    otherwise in a temporary folder, so a test run leaves the work tree clean."""
    folder = SCREENSHOTS if os.environ.get("SALDO_SCREENSHOTS") == "1" else tmp_path

    def take(page, name: str, full_page: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def seeded_methods(db):
    """The payment methods of the data migration: transaction=True tests flush them between tests."""
    from billing.gateways.methods import CATALOGUE, DEFAULT_ENABLED
    from billing.models import PaymentMethod

    for position, method in enumerate(CATALOGUE):
        PaymentMethod.objects.get_or_create(
            code=method.code, defaults={"enabled": method.code in DEFAULT_ENABLED, "position": position * 10}
        )


def login(page, email: str, password: str) -> None:
    page.goto(page.base_url + "/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(page.base_url + "/")
