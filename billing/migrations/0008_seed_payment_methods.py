"""Seed the payment methods staff can offer: virtual accounts, QRIS and the e-wallets, the common ones on."""

from django.db import migrations

# Frozen here (not imported) so that later catalogue edits never change what this migration did.
METHODS = [
    ("bca_va", True),
    ("bni_va", True),
    ("bri_va", True),
    ("mandiri_bill", True),
    ("permata_va", True),
    ("other_va", False),
    ("qris", True),
    ("gopay", True),
    ("shopeepay", True),
    ("ovo", True),
    ("dana", True),
    ("linkaja", False),
]


def seed(apps, schema_editor):
    PaymentMethod = apps.get_model("billing", "PaymentMethod")
    for position, (code, enabled) in enumerate(METHODS):
        PaymentMethod.objects.get_or_create(code=code, defaults={"enabled": enabled, "position": position * 10})


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_payment_methods_auto_topup_outbound_email")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
