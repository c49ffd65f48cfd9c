"""Issue 19: navigation per role, read-only views for members, confirmation before destructive actions, and
invitations to people already in the organization refused."""

import pytest
from django.core import mail

from accounts.models import ApiKey, Invitation, Membership
from accounts.services import InvitationError, api_key_create, invitation_create
from billing.models import Purchase
from tests.billing.conftest import make_purchase

pytestmark = pytest.mark.django_db


def _nav(response) -> str:
    html = response.content.decode()
    return html[html.index('<nav class="nav"') : html.index("</nav>", html.index('<nav class="nav"'))]


def test_it_hides_billing_pages_from_members_in_the_navigation(client, member):
    client.force_login(member)
    nav = _nav(client.get("/"))
    assert "/credits/top-up/" not in nav and "/billing/subscription/" not in nav
    assert "/conversations/" in nav and "/settings/" in nav


@pytest.mark.parametrize("who", ["owner", "admin_user"])
def test_it_shows_billing_pages_to_owners_and_admins(client, who, request):
    client.force_login(request.getfixturevalue(who))
    nav = _nav(client.get("/"))
    assert "/credits/top-up/" in nav and "/billing/subscription/" in nav


def test_it_shows_members_the_billing_details_as_text(client, member, organization):
    organization.npwp = "01.234.567.8-901.000"
    organization.save()
    client.force_login(member)
    html = client.get("/settings/").content.decode()
    assert 'id="billing-details"' in html and "01.234.567.8-901.000" in html
    assert 'name="billing-npwp"' not in html and "Save billing details" not in html


def test_it_asks_before_revoking_a_key_and_revokes_on_the_confirmed_post(owner_client, organization):
    key, _raw = api_key_create(organization=organization, name="chatbot")
    settings_page = owner_client.get("/settings/").content.decode()
    assert f"?confirm=revoke_key&amp;key_id={key.pk}" in settings_page
    assert 'value="revoke_key"' not in settings_page  # no one-click revoke form on the page

    confirm = owner_client.get(f"/settings/?confirm=revoke_key&key_id={key.pk}")
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "chatbot" in html and 'name="action" value="revoke_key"' in html and 'id="confirm-action"' in html
    key.refresh_from_db()
    assert key.revoked_at is None  # asking changes nothing

    owner_client.post("/settings/", {"action": "revoke_key", "key_id": str(key.pk)})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_it_asks_before_removing_a_member(owner_client, member):
    membership = Membership.objects.get(user=member)
    confirm = owner_client.get(f"/settings/?confirm=remove_member&membership_id={membership.pk}")
    assert confirm.status_code == 200 and member.email in confirm.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    owner_client.post("/settings/", {"action": "remove_member", "membership_id": str(membership.pk)})
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_members_get_no_confirmation_pages(client, member, organization):
    key, _raw = api_key_create(organization=organization, name="chatbot")
    client.force_login(member)
    html = client.get(f"/settings/?confirm=revoke_key&key_id={key.pk}").content.decode()
    assert 'id="confirm-action"' not in html


def test_it_answers_404_for_another_organizations_key_on_the_confirmation(owner_client, other_organization):
    key, _raw = api_key_create(organization=other_organization)
    assert owner_client.get(f"/settings/?confirm=revoke_key&key_id={key.pk}").status_code == 404


def test_it_asks_before_cancelling_a_purchase(owner_client, organization):
    purchase = make_purchase(organization)
    confirm = owner_client.get(f"/billing/purchases/{purchase.pk}/cancel/?next=/billing/subscription/")
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert purchase.order_id in html and 'name="next" value="/billing/subscription/"' in html
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PENDING
    status_page = owner_client.get(f"/billing/purchases/{purchase.pk}/").content.decode()
    assert f'href="/billing/purchases/{purchase.pk}/cancel/"' in status_page


def test_the_cancel_confirmation_refuses_a_foreign_next_url(owner_client, organization):
    purchase = make_purchase(organization)
    html = owner_client.get(f"/billing/purchases/{purchase.pk}/cancel/?next=//evil.example/").content.decode()
    assert f'name="next" value="/billing/purchases/{purchase.pk}/"' in html
    assert f'class="btn secondary" href="/billing/purchases/{purchase.pk}/"' in html


def test_it_refuses_to_invite_someone_already_in_the_organization(owner_client, member):
    mail.outbox.clear()
    response = owner_client.post(
        "/settings/", {"action": "invite", "invite-email": member.email.upper(), "invite-role": "member"}
    )
    assert response.status_code == 200
    assert "is already a member" in response.context["invite_form"].errors["email"][0]
    assert not Invitation.objects.filter(email__iexact=member.email).exists()
    assert mail.outbox == []


def test_the_invitation_service_refuses_members_too(organization, owner, member):
    with pytest.raises(InvitationError):
        invitation_create(organization=organization, email=member.email, role="member", invited_by=owner)
    assert ApiKey.objects.count() == 0
