import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import ApiKey, Invitation, Membership, Organization, User
from accounts.services import api_key_create, invitation_create

PAGES = [
    "/",
    "/credits/top-up/",
    "/billing/subscription/",
    "/conversations/",
    "/settings/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_it_requires_login_on_every_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("url", PAGES)
def test_it_shows_every_page_to_the_owner(owner_client, url):
    response = owner_client.get(url)
    assert response.status_code == 200
    assert b"Toko Maju" in response.content


def test_it_shows_members_usage_but_not_billing(client, member):
    client.force_login(member)
    assert client.get("/").status_code == 200
    assert client.get("/conversations/").status_code == 200
    assert client.get("/credits/top-up/").status_code == 403
    assert client.get("/billing/subscription/").status_code == 403


def test_it_logs_in_with_email_and_shows_the_dashboard(client, owner, password):
    response = client.post(
        reverse("accounts:login"), {"username": "owner@tokomaju.id", "password": password}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert response.context["current_organization"].slug == "toko-maju"


def test_it_signs_up_a_user_with_their_organization(client, db):
    response = client.post(
        reverse("accounts:signup"),
        {
            "full_name": "Sri Wahyuni",
            "email": "Sri@Example.com",
            "organization_name": "Batik Sri",
            "password": "a-long-secret-9911",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="sri@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.organization.name == "Batik Sri"
    assert client.get("/").status_code == 200


def test_it_refuses_a_duplicate_signup_with_a_form_error(client, owner):
    response = client.post(
        reverse("accounts:signup"),
        {"full_name": "X", "email": "owner@tokomaju.id", "organization_name": "X", "password": "a-long-secret-9911"},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Organization.objects.count() == 1


def test_it_switches_between_the_users_organizations(owner_client, owner, other_organization):
    Membership.objects.create(user=owner, organization=other_organization, role=Membership.Role.ADMIN)
    response = owner_client.post(reverse("accounts:switch_organization"), {"organization": str(other_organization.pk)})
    assert response.status_code == 302
    assert owner_client.get("/").context["current_organization"] == other_organization


def test_it_answers_404_when_switching_to_someone_elses_organization(owner_client, other_org_owner, other_organization):
    response = owner_client.post(reverse("accounts:switch_organization"), {"organization": str(other_organization.pk)})
    assert response.status_code == 404
    assert owner_client.get("/").context["current_organization"].slug == "toko-maju"


def test_it_answers_404_when_revoking_another_organizations_key(owner_client, other_organization):
    key, _raw = api_key_create(organization=other_organization)
    response = owner_client.post("/settings/", {"action": "revoke_key", "key_id": str(key.pk)})
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_it_saves_billing_details_and_rejects_a_bad_npwp(owner_client, organization):
    bad = owner_client.post(
        "/settings/",
        {"action": "billing", "billing-name": "Toko Maju", "billing-npwp": "123", "billing-low_balance_threshold": 500},
    )
    assert bad.status_code == 200
    assert "15 or 16 digits" in bad.content.decode()
    good = owner_client.post(
        "/settings/",
        {
            "action": "billing",
            "billing-name": "Toko Maju",
            "billing-legal_name": "PT Toko Maju Bersama",
            "billing-npwp": "01.234.567.8-901.000",
            "billing-address": "Jl. Asia Afrika 8, Bandung",
            "billing-invoice_email": "ap@tokomaju.id",
            "billing-low_balance_threshold": 500,
        },
    )
    assert good.status_code == 302
    organization.refresh_from_db()
    assert organization.legal_name == "PT Toko Maju Bersama"
    assert organization.low_balance_threshold == 500


def test_it_shows_a_new_api_key_once_and_stores_only_its_hash(owner_client, organization):
    response = owner_client.post("/settings/", {"action": "create_key", "key-name": "chatbot"})
    assert response.status_code == 200
    raw = response.context["new_key"]
    key = ApiKey.objects.get(organization=organization)
    assert raw.startswith(key.prefix)
    assert raw not in key.key_hash
    assert raw not in owner_client.get("/settings/").content.decode()


def test_it_invites_a_teammate_who_then_joins(owner_client, owner, organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/settings/", {"action": "invite", "invite-email": "new@tokomaju.id", "invite-role": "admin"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="new@tokomaju.id")
    assert len(mail.outbox) == 1
    assert invitation.token in mail.outbox[0].body

    newcomer = User.objects.create_user(email="new@tokomaju.id", password="x-long-password-1")
    owner_client.force_login(newcomer)
    owner_client.post(reverse("accounts:invitation_accept", args=[invitation.token]))
    assert Membership.objects.get(user=newcomer, organization=organization).role == "admin"


def test_it_does_not_let_a_member_change_settings(client, member, organization):
    client.force_login(member)
    response = client.post("/settings/", {"action": "create_key", "key-name": "x"})
    assert response.status_code == 302
    assert not ApiKey.objects.filter(organization=organization).exists()


def test_it_reinviting_resends_the_same_open_invitation(owner, organization):
    first = invitation_create(organization=organization, email="a@b.id", role="member", invited_by=owner)
    second = invitation_create(organization=organization, email="A@b.id", role="admin", invited_by=owner)
    assert first.pk == second.pk
    assert Invitation.objects.filter(organization=organization).count() == 1


def test_it_sends_a_password_reset_email(client, owner):
    client.post(reverse("accounts:password_reset"), {"email": "owner@tokomaju.id"})
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/" in mail.outbox[0].body


def test_it_switches_language_to_indonesian(owner_client):
    response = owner_client.post(reverse("set_language"), {"language": "id", "next": "/"})
    assert response.status_code == 302
    assert owner_client.get("/").wsgi_request.LANGUAGE_CODE == "id"


def test_it_accepts_six_address_lines_of_500_characters_and_refuses_more(owner_client, organization):
    six_lines = "\n".join([f"Jl. Panjang Sekali No. {i} ".ljust(80, "x") for i in range(6)])[:500]
    form = {"action": "billing", "billing-name": "Toko Maju", "billing-low_balance_threshold": 5}
    response = owner_client.post("/settings/", {**form, "billing-address": six_lines})
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.address == six_lines

    for too_long in ["line\n" * 7, "x" * 501]:
        response = owner_client.post("/settings/", {**form, "billing-address": too_long})
        assert response.status_code == 200
        assert "Keep the address to 6 lines and 500 characters" in response.content.decode()
        organization.refresh_from_db()
        assert organization.address == six_lines
