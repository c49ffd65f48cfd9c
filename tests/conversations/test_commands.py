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
