"""Every audited action writes its entry inside its service's transaction: the entry and the change commit or
roll back together. Plain admin forms (organizations' billing details, memberships, price lists) are recorded
too, inline rows included."""

from unittest import mock

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import ApiKey, AuditEntry, Invitation, Membership
from billing.models.purchases import PriceList
from tests.factories import MembershipFactory


def _boom(**kwargs):
    raise RuntimeError("audit store down")


def _form_data(response) -> dict:
    """The POST body a browser would send for an admin change form as rendered (main form and inlines)."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                data[form.add_prefix(name)] = [str(v) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            else:
                data[form.add_prefix(name)] = str(value)
    return data


def test_it_audits_removing_a_member(organization, owner, member):
    membership = Membership.objects.get(user=member)
    services.membership_remove(membership=membership, actor=owner)
    entry = AuditEntry.objects.get(action="membership.remove")
    assert (entry.actor, entry.organization, entry.before["user"]) == (owner, organization, member.email)
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_removing_a_member_rolls_back_with_its_audit_entry(organization, owner, member):
    membership = Membership.objects.get(user=member)
    with mock.patch.object(services, "audit_record", _boom), pytest.raises(RuntimeError):
        services.membership_remove(membership=membership, actor=owner)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_settings_page_cancels_an_invitation_through_the_audited_service(owner_client, organization, owner):
    invitation = services.invitation_create(
        organization=organization, email="new@tokomaju.id", role=Membership.Role.MEMBER, invited_by=owner
    )
    response = owner_client.post("/settings/", {"action": "cancel_invite", "invitation_id": str(invitation.pk)})
    assert response.status_code == 302
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    entry = AuditEntry.objects.get(action="invitation.cancel")
    assert entry.before == {"email": "new@tokomaju.id", "role": Membership.Role.MEMBER}
    assert entry.actor == owner


def test_cancelling_an_invitation_rolls_back_with_its_audit_entry(organization, owner):
    invitation = services.invitation_create(
        organization=organization, email="new@tokomaju.id", role=Membership.Role.MEMBER, invited_by=owner
    )
    with mock.patch.object(services, "audit_record", _boom), pytest.raises(RuntimeError):
        services.invitation_cancel(invitation=invitation, actor=owner)
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_it_audits_an_api_key_once_when_created_and_once_when_revoked(organization, owner):
    key, _raw = services.api_key_create(organization=organization, name="bot", created_by=owner)
    services.api_key_revoke(api_key=key, actor=owner)
    services.api_key_revoke(api_key=key, actor=owner)  # already revoked: nothing more
    actions = list(AuditEntry.objects.filter(target_id=str(key.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["api_key.create", "api_key.revoke"]


def test_revoking_a_key_rolls_back_with_its_audit_entry(organization, owner):
    key, _raw = services.api_key_create(organization=organization, name="bot", created_by=owner)
    with mock.patch.object(services, "audit_record", _boom), pytest.raises(RuntimeError):
        services.api_key_revoke(api_key=key, actor=owner)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_an_admin_edit_of_billing_details_is_recorded_with_before_and_after(client, staff, organization):
    client.force_login(staff)
    url = reverse("admin:accounts_organization_change", args=[organization.pk])
    data = _form_data(client.get(url))
    old_npwp = organization.npwp
    data["npwp"] = "0123456789012345"
    data["legal_name"] = "PT Toko Maju Sejahtera"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entry = AuditEntry.objects.get(action="accounts.organization.admin_change")
    assert entry.actor == staff and entry.organization == organization
    assert entry.after["npwp"] == "0123456789012345" and entry.before.get("npwp", "") == old_npwp
    assert entry.after["legal_name"] == "PT Toko Maju Sejahtera"


def test_an_admin_edit_is_not_saved_when_its_audit_entry_cannot_be(client, staff, organization):
    client.force_login(staff)
    url = reverse("admin:accounts_organization_change", args=[organization.pk])
    data = _form_data(client.get(url))
    data["legal_name"] = "PT Never Saved"
    client.raise_request_exception = True
    with mock.patch.object(services, "audit_record", _boom), pytest.raises(RuntimeError):
        client.post(url, data)
    organization.refresh_from_db()
    assert organization.legal_name != "PT Never Saved"
    assert not AuditEntry.objects.exists()


def test_an_admin_role_change_of_a_membership_is_recorded(client, staff, organization, member):
    client.force_login(staff)
    membership = Membership.objects.get(user=member)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    data = _form_data(client.get(url))
    data["role"] = Membership.Role.ADMIN
    assert client.post(url, data).status_code == 302
    entry = AuditEntry.objects.get(action="accounts.membership.admin_change")
    assert (entry.before["role"], entry.after["role"]) == (Membership.Role.MEMBER, Membership.Role.ADMIN)


def test_a_new_price_list_and_its_tiers_are_recorded(client, staff):
    client.force_login(staff)
    response = client.post(
        reverse("admin:billing_pricelist_add"),
        {
            "name": "2027 prices",
            "effective_from_0": "2027-01-01",
            "effective_from_1": "00:00:00",
            "note": "",
            "tiers-TOTAL_FORMS": "2",
            "tiers-INITIAL_FORMS": "0",
            "tiers-MIN_NUM_FORMS": "1",
            "tiers-MAX_NUM_FORMS": "1000",
            "tiers-0-min_credits": "1000",
            "tiers-0-unit_price": "95",
            "tiers-1-min_credits": "100000",
            "tiers-1-unit_price": "90",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    price_list = PriceList.objects.get(name="2027 prices")
    entry = AuditEntry.objects.get(action="billing.pricelist.admin_add")
    assert entry.target_id == str(price_list.pk) and entry.after["name"] == "2027 prices"
    assert len(entry.after["inlines"]["price tiers"]["added"]) == 2


def test_an_unchanged_admin_save_records_nothing(client, staff, organization):
    MembershipFactory(organization=organization)
    client.force_login(staff)
    url = reverse("admin:accounts_organization_change", args=[organization.pk])
    assert client.post(url, _form_data(client.get(url))).status_code == 302
    assert not AuditEntry.objects.filter(action__endswith="admin_change").exists()
