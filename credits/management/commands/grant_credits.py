from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from credits.selectors import balance_for
from credits.services import credits_grant


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
        if days is not None and days <= 0:
            raise CommandError("--days must be positive.")
        lot = credits_grant(
            organization=organization,
            credits=credits,
            reason=reason,
            reference=reference,
            valid_days=days,
            via="grant_credits command",
        )
        self.stdout.write(
            f"Granted {lot.credits} credits to {organization.slug} (lot {lot.pk}, expires {lot.expires_at:%Y-%m-%d %H:%M %Z}). "
            f"Balance: {balance_for(organization)}"
        )
