"""Demo data for `make run`. Idempotent: running it again changes nothing.

Each app keeps its own demo data in ``<app>/demo.py`` with an idempotent ``seed(*, organization, owner, stdout)``.
"""

from django.core.management.base import BaseCommand

from accounts.models import Membership, Organization, User
from accounts.services import organization_create
from billing import demo as billing_demo
from conversations import demo as conversations_demo
from credits import demo as credits_demo

DEMO_ORG_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.saldo.id"
DEMO_OWNER_PASSWORD = "demo-owner-2026"
DEMO_MEMBER_EMAIL = "member@demo.saldo.id"
DEMO_MEMBER_PASSWORD = "demo-member-2026"
DEMO_STAFF_EMAIL = "admin@saldo.local"
DEMO_STAFF_PASSWORD = "demo-admin-2026"
DEMO_MODULES = [credits_demo, billing_demo, conversations_demo]


def _user(email: str, password: str, full_name: str, **extra) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        manager = User.objects.create_superuser if extra.get("is_superuser") else User.objects.create_user
        user = manager(email=email, password=password, full_name=full_name)
    return user


class Command(BaseCommand):
    help = "Create demo data (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        # No transaction around it all: each step is idempotent on its own and commits its own work.
        owner = _user(DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, "Dewi Lestari")
        member = _user(DEMO_MEMBER_EMAIL, DEMO_MEMBER_PASSWORD, "Budi Santoso")
        _user(DEMO_STAFF_EMAIL, DEMO_STAFF_PASSWORD, "Saldo Staff", is_superuser=True)
        org = Organization.objects.filter(slug=DEMO_ORG_SLUG).first()
        if org is None:
            org = organization_create(
                name="Toko Kopi Nusantara",
                owner=owner,
                slug=DEMO_ORG_SLUG,
                legal_name="PT Kopi Nusantara Sejahtera",
                npwp="09.876.543.2-101.000",
                address="Jl. Braga No. 12, Bandung 40111, Jawa Barat",
                invoice_email="finance@kopinusantara.id",
            )
        Membership.objects.get_or_create(user=member, organization=org, defaults={"role": Membership.Role.MEMBER})
        for module in DEMO_MODULES:
            module.seed(organization=org, owner=owner, stdout=self.stdout)

        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at http://127.0.0.1:8000/accounts/login/"))
        self.stdout.write(f"  Business owner : {DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD}  (organization '{org.name}')")
        self.stdout.write(f"  Business member: {DEMO_MEMBER_EMAIL} / {DEMO_MEMBER_PASSWORD}")
        self.stdout.write(
            f"  Staff (admin)  : {DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD}  → http://127.0.0.1:8000/admin/"
        )
