from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.services import organization_create


class Command(BaseCommand):
    help = "Create an organization and its owner (created if new). Prints the organization slug."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--password", default=None, help="Password for a new owner (unusable if omitted).")
        parser.add_argument("--slug", default=None)

    @transaction.atomic
    def handle(self, *args, name, owner_email, password, slug, **options):
        if not name.strip():
            raise CommandError("--name must not be empty")
        email = owner_email.strip().lower()
        owner = User.objects.filter(email__iexact=email).first()
        if owner is None:
            owner = User.objects.create_user(email=email, password=password)
        elif password:
            owner.set_password(password)
            owner.save(update_fields=["password"])
        org = organization_create(name=name.strip(), owner=owner, slug=slug, invoice_email=email)
        self.stdout.write(org.slug)
