import sys

from django.core.management.base import BaseCommand
from django.db.models import Q

from accounts.models import Organization
from credits.selectors import ledger_audit


class Command(BaseCommand):
    help = (
        "Check invariant 1 for every organization: balance row = Σ remaining of unexpired lots = Σ ledger deltas. "
        "Exits 1 and lists every organization where they disagree."
    )

    def handle(self, *args, **options):
        orgs = (
            Organization.objects.filter(
                Q(credit_balance__isnull=False) | Q(credit_lots__isnull=False) | Q(credit_ledger__isnull=False)
            )
            .distinct()
            .order_by("slug")
        )
        bad = 0
        checked = 0
        for org in orgs.iterator():
            checked += 1
            audit = ledger_audit(org.pk)
            if not audit["ok"]:
                bad += 1
                self.stdout.write(
                    f"{org.slug} ({org.pk}): balance={audit['balance']} lots={audit['lots']} "
                    f"ledger={audit['ledger']} (balance row {audit['balance_row']}, "
                    f"expired not yet swept {audit['expired_unswept']})"
                )
        if bad:
            self.stdout.write(self.style.ERROR(f"{bad} of {checked} organizations disagree."))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"Ledger clean: {checked} organizations checked."))
