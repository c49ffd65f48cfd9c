import pytest
from django.core.management import CommandError, call_command

from conversations.models import WhatsAppNumber

pytestmark = pytest.mark.django_db


def test_it_adds_a_whatsapp_number(organization, capsys):
    call_command(
        "add_whatsapp_number",
        "--org",
        organization.slug,
        "--phone-number-id",
        "1061",
        "--waba-id",
        "1022",
        "--display-number",
        "+62 811 2222 333",
    )
    number = WhatsAppNumber.objects.get()
    assert (number.organization, number.phone_number_id, number.waba_id) == (organization, "1061", "1022")
    assert "1061" in capsys.readouterr().out


def test_adding_the_same_number_again_is_harmless(organization):
    for _ in range(2):
        call_command(
            "add_whatsapp_number",
            "--org",
            organization.slug,
            "--phone-number-id",
            "1061",
            "--waba-id",
            "1022",
            "--display-number",
            "1",
        )
    assert WhatsAppNumber.objects.count() == 1


def test_a_number_cannot_move_to_another_organization(organization, other_organization):
    call_command(
        "add_whatsapp_number",
        "--org",
        organization.slug,
        "--phone-number-id",
        "1061",
        "--waba-id",
        "1022",
        "--display-number",
        "1",
    )
    with pytest.raises(CommandError):
        call_command(
            "add_whatsapp_number",
            "--org",
            other_organization.slug,
            "--phone-number-id",
            "1061",
            "--waba-id",
            "1022",
            "--display-number",
            "1",
        )


def test_an_unknown_organization_is_an_error(db):
    with pytest.raises(CommandError):
        call_command(
            "add_whatsapp_number", "--org", "nope", "--phone-number-id", "1", "--waba-id", "2", "--display-number", "3"
        )


def test_the_number_is_audited_only_when_it_is_created_or_changed(organization):
    from accounts.models import AuditEntry
    from conversations.services import whatsapp_number_add

    for _ in range(2):
        whatsapp_number_add(organization=organization, phone_number_id="42", waba_id="W", display_number="+62 1")
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["whatsapp_number.add"]
    whatsapp_number_add(organization=organization, phone_number_id="42", waba_id="W", display_number="+62 2")
    change = AuditEntry.objects.get(action="whatsapp_number.change")
    assert change.before == {"waba_id": "W", "display_number": "+62 1"}
    assert change.after["display_number"] == "+62 2"
    assert AuditEntry.objects.count() == 2


def test_the_audit_entry_rolls_back_with_a_refused_number(organization, other_organization):
    from accounts.models import AuditEntry
    from conversations.services import whatsapp_number_add

    whatsapp_number_add(organization=organization, phone_number_id="42", waba_id="W", display_number="1")
    with pytest.raises(ValueError):
        whatsapp_number_add(organization=other_organization, phone_number_id="42", waba_id="W", display_number="1")
    assert AuditEntry.objects.count() == 1
