"""Seed the PPN rules (PMK 131/2024) and the e-Faktur settings, and give the invoices issued before tax rules
existed their frozen terms as they were computed: PPN at their lines' rate on the full price (DPP), DPP Nilai
Lain = DPP, tax date = the Asia/Jakarta day they were issued. No amount of an existing invoice changes."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import migrations
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce, TruncDate

JAKARTA = ZoneInfo("Asia/Jakarta")

RULES = [
    {
        "name": "PPN 11% (UU HPP, 2022–2024)",
        "valid_from": datetime.date(2022, 4, 1),
        "valid_to": datetime.date(2024, 12, 31),
        "rate": Decimal("0.11"),
        "base_kind": "dpp",
        "other_base_numerator": 11,
        "other_base_denominator": 12,
        "trx_code": "01",
    },
    {
        "name": "PPN 12% on DPP Nilai Lain 11/12 (PMK 131/2024)",
        "valid_from": datetime.date(2025, 1, 1),
        "valid_to": None,
        "rate": Decimal("0.12"),
        "base_kind": "dpp_nilai_lain",
        "other_base_numerator": 11,
        "other_base_denominator": 12,
        "trx_code": "04",
    },
]


def seed(apps, schema_editor):
    TaxRule = apps.get_model("invoices", "TaxRule")
    EfakturSettings = apps.get_model("invoices", "EfakturSettings")
    Invoice = apps.get_model("invoices", "Invoice")
    InvoiceLine = apps.get_model("invoices", "InvoiceLine")
    for rule in RULES:
        TaxRule.objects.get_or_create(valid_from=rule["valid_from"], defaults=rule)
    EfakturSettings.objects.get_or_create(pk=1)

    InvoiceLine.objects.update(tax_base=F("amount"), other_tax_base=F("amount"))
    first_rate = InvoiceLine.objects.filter(invoice=OuterRef("pk")).order_by("position", "id").values("tax_rate")[:1]
    Invoice.objects.filter(tax_date__isnull=True).update(
        tax_base=F("subtotal"),
        other_tax_base=F("subtotal"),
        tax_rate=Coalesce(Subquery(first_rate), Decimal("0")),
        tax_base_kind="dpp",
        tax_base_numerator=1,
        tax_base_denominator=1,
        tax_trx_code="01",
        tax_date=TruncDate(Coalesce("issued_at", "created_at"), tzinfo=JAKARTA),
    )


class Migration(migrations.Migration):
    dependencies = [("invoices", "0003_tax_rules_and_identity")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
