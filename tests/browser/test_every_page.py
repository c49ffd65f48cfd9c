"""Every page, for every role, in both languages, in Debian's Chromium (issue 19).

For each page: no horizontal page scroll at 360, 390, 768 and 1366 px (``scrollWidth <= innerWidth``), touch
targets of at least 44 px at phone width on customer pages, a page title that names the page, and axe-core
(vendored in ``static/vendor/``) finding no serious or critical violation at 390 and 1366 px in English and
Indonesian."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import ApiKey, Membership, Organization, User
from accounts.services import api_key_create
from billing.models import Purchase
from invoices.models import Invoice
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_methods")]

AXE = (Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core-4.14.1.min.js").read_text()
WIDTHS = (1366, 768, 390, 360)
AXE_WIDTHS = (1366, 390)
LANGUAGES = ("en", "id")
PASSWORD = "a-long-test-password-19"
USERS = {
    "owner": ("owner@demo.saldo.id", "demo-owner-2026"),
    "member": ("member@demo.saldo.id", "demo-member-2026"),
    "staff": ("admin@saldo.local", "demo-admin-2026"),
    "admin": ("admin-role@demo.saldo.id", PASSWORD),
}
# Interactive elements a finger must hit: buttons, fields and navigation (inline links in running text are
# exempt, as in WCAG 2.5.8).
TOUCH_TARGETS = """() => Array.from(document.querySelectorAll(
    'main a.btn, main button, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select,'
    + ' main summary, .topbar button, .topbar a')).filter(e => {
      const r = e.getBoundingClientRect(); const style = getComputedStyle(e);
      return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && !e.closest('.sr-only');
    }).filter(e => { const r = e.getBoundingClientRect(); return r.height < 43.5 || r.width < 43.5; })
    .map(e => e.outerHTML.slice(0, 120) + ' ' + Math.round(e.getBoundingClientRect().width) + 'x'
         + Math.round(e.getBoundingClientRect().height))"""
# Two animation frames after a resize: the layout and the charts' resize observers have run.
SETTLED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.impact + ' ' + v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""


@pytest.fixture
def world():
    """The demo organization (lots, usage, a pending and a paid purchase with invoices, conversations), an
    admin-role member and an API key."""
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    org = Organization.objects.get(slug="demo")
    admin = User.objects.create_user(email=USERS["admin"][0], password=PASSWORD, full_name="Rina Wijaya")
    Membership.objects.create(user=admin, organization=org, role=Membership.Role.ADMIN)
    if not ApiKey.objects.filter(organization=org).exists():
        api_key_create(organization=org, name="chatbot", created_by=org.memberships.first().user)
    pending = Purchase.objects.filter(organization=org, status=Purchase.Status.PENDING).first()
    paid = Purchase.objects.filter(organization=org, status=Purchase.Status.PAID).first()
    assert pending and paid, "seed_demo makes a pending and a paid purchase"
    return {
        "org": org,
        "pending": pending,
        "paid": paid,
        "invoices": list(Invoice.objects.filter(organization=org).exclude(status=Invoice.Status.DRAFT)[:2]),
        "key": ApiKey.objects.filter(organization=org, revoked_at__isnull=True).first(),
        "member": Membership.objects.get(organization=org, user__email=USERS["member"][0]),
    }


def _customer_pages(world, role: str) -> list[str]:
    pages = ["/", "/conversations/", "/settings/", "/accounts/password/change/"]
    if role in ("owner", "admin"):
        pending, paid = world["pending"], world["paid"]
        ref = pending.gateway_ref
        pages += [
            "/credits/top-up/",
            "/credits/top-up/summary/?credits=5000",
            "/credits/top-up/?credits=1500",
            "/billing/subscription/",
            *[f"/billing/invoices/{invoice.pk}/" for invoice in world["invoices"]],
            f"/billing/purchases/{pending.pk}/",
            f"/billing/purchases/{paid.pk}/",
            f"/billing/purchases/{pending.pk}/cancel/",
            f"/credits/sandbox/{ref}/",
            f"/credits/sandbox/{ref}/bca_va/",
            f"/credits/sandbox/{ref}/qris/",
            f"/credits/sandbox/{ref}/gopay/",
            f"/settings/?confirm=revoke_key&key_id={world['key'].pk}",
            f"/settings/?confirm=remove_member&membership_id={world['member'].pk}",
        ]
    if role == "owner":
        pages.append("/billing/auto-top-up/")
    return pages


def _staff_pages(world) -> list[str]:
    return [
        "/admin/",
        "/admin/accounts/organization/",
        f"/admin/accounts/organization/{world['org'].pk}/change/",
        "/admin/billing/purchase/",
        f"/admin/billing/purchase/{world['paid'].pk}/change/",
        "/admin/invoices/invoice/",
        "/admin/credits/ledgerentry/",
        "/admin/accounts/auditentry/",
        "/admin/conversations/conversation/",
    ]


def _set_language(page, language: str) -> None:
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": page.base_url}])


def _check_pages(page, urls: list[str], *, touch: bool) -> list[str]:
    problems = []
    for language in LANGUAGES:
        _set_language(page, language)
        for url in urls:
            page.set_viewport_size({"width": 1366, "height": 900})
            response = page.goto(page.base_url + url)
            where = f"{url} [{language}]"
            if response.status >= 500:
                problems.append(f"{where}: HTTP {response.status}")
                continue
            if page.evaluate("document.documentElement.lang") != language:
                problems.append(f"{where}: <html lang> is {page.evaluate('document.documentElement.lang')!r}")
            title = page.title()
            if not title or title.strip() in ("Saldo", "· Saldo") or title.startswith("Saldo ·"):
                problems.append(f"{where}: the title {title!r} does not say where you are")
            page.add_script_tag(content=AXE)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.evaluate(SETTLED)
                scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                if scroll > inner:
                    problems.append(f"{where} at {width}px: page is {scroll}px wide")
                if touch and width == 390:
                    small = page.evaluate(TOUCH_TARGETS)
                    if small:
                        problems.append(f"{where} at {width}px: touch targets under 44px: {small[:3]}")
                if width in AXE_WIDTHS:
                    for violation in page.evaluate(AXE_RUN):
                        problems.append(f"{where} at {width}px: {violation}")
    return problems


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_it_fits_every_customer_page_and_passes_axe(page, world, role):
    login(page, *USERS[role])
    problems = _check_pages(page, _customer_pages(world, role), touch=True)
    assert problems == [], "\n".join(problems)


def test_it_fits_every_staff_page_and_passes_axe(page, world):
    page.goto(page.base_url + "/admin/login/")
    page.fill("input[name=username]", USERS["staff"][0])
    page.fill("input[name=password]", USERS["staff"][1])
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(page.base_url + "/admin/")
    problems = _check_pages(page, _staff_pages(world), touch=False)
    assert problems == [], "\n".join(problems)


def test_it_fits_the_pages_before_login_and_the_error_pages(page, world):
    problems = _check_pages(
        page, ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/no-such-page/"], touch=True
    )
    assert problems == [], "\n".join(problems)


def test_it_shows_members_only_what_they_may_open(page, world):
    login(page, *USERS["member"])
    nav = page.locator(".sidebar .nav").inner_text()
    assert "Top up" not in nav and "Subscription" not in nav
    assert "Conversations" in nav and "Settings" in nav
    for link in page.locator(".sidebar .nav a").all():
        assert page.request.get(page.base_url + link.get_attribute("href")).status == 200
    page.goto(page.base_url + "/settings/")
    # Read-only: the organization's details as text, no form fields without a Save button.
    assert page.locator("#billing-details").is_visible()
    assert page.locator("input[name^='billing-']").count() == 0
    assert page.locator("text=Save billing details").count() == 0


def test_it_opens_the_phone_menu_from_the_keyboard(browser, live_server, world):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.base_url = live_server.url
    login(page, *USERS["owner"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # visible once focused
    button = page.locator("#menu-button")
    assert button.get_attribute("aria-expanded") == "false"
    assert not page.locator(".sidebar .nav a").first.is_visible()
    button.focus()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    page.locator(".sidebar .nav a", has_text="Top up").wait_for(state="visible")
    page.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false"
    context.close()
