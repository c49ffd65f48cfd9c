from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import audit_record
from credits.selectors import balance_for
from credits.services import lot_grant


class Command(BaseCommand):
    help = "Grant bonus credits to an organization (a lot with its own expiry). A reason is required."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--credits", required=True, type=int)
        parser.add_argument("--reason", required=True)
        parser.add_argument("--days", type=int, default=None, help="validity in days (default CREDIT_VALIDITY_DAYS)")
        parser.add_argument(
            "--reference", default="", help="makes the grant idempotent: the same reference grants once"
        )

    def handle(self, *args, org, credits, reason, days, reference, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        if credits <= 0:
            raise CommandError("--credits must be a positive number.")
        if not reason.strip():
            raise CommandError("--reason may not be blank.")
        now = timezone.now()
        expires_at = None
        if days is not None:
            if days <= 0:
                raise CommandError("--days must be positive.")
            expires_at = now + timedelta(days=days)
        with transaction.atomic():
            lot = lot_grant(
                organization=organization,
                credits=credits,
                source="grant",
                reason=reason.strip(),
                reference=reference,
                granted_at=now,
                expires_at=expires_at,
            )
            audit_record(
                action="credits.grant",
                organization=organization,
                target=lot,
                after={"credits": credits, "expires_at": lot.expires_at.isoformat(), "via": "grant_credits command"},
                reason=reason.strip(),
            )
        self.stdout.write(
            f"Granted {lot.credits} credits to {organization.slug} (lot {lot.pk}, expires {lot.expires_at:%Y-%m-%d %H:%M %Z}). "
            f"Balance: {balance_for(organization)}"
        )
