from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from conversations.services import whatsapp_number_add


class Command(BaseCommand):
    help = "Attach a WhatsApp Business number (Meta phone number ID) to an organization."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization slug")
        parser.add_argument("--phone-number-id", required=True, help="Meta's phone_number_id")
        parser.add_argument("--waba-id", required=True, help="WhatsApp Business Account ID")
        parser.add_argument("--display-number", required=True, help="The number as customers see it")

    def handle(self, *args, org, phone_number_id, waba_id, display_number, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}")
        if not phone_number_id.strip() or not waba_id.strip():
            raise CommandError("--phone-number-id and --waba-id cannot be empty")
        try:
            number = whatsapp_number_add(
                organization=organization,
                phone_number_id=phone_number_id,
                waba_id=waba_id,
                display_number=display_number,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{number.display_number} ({number.phone_number_id}) → {organization.slug}")
