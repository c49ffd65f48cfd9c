"""The default price list: Rp 100 per credit before tax, in force since long before the first purchase."""

from datetime import datetime, timezone

from django.db import migrations

DEFAULT_FROM = datetime(2024, 1, 1, tzinfo=timezone.utc)


def create_default(apps, schema_editor):
    PriceList = apps.get_model("billing", "PriceList")
    PriceTier = apps.get_model("billing", "PriceTier")
    if PriceList.objects.exists():
        return
    price_list = PriceList.objects.create(
        name="Default", effective_from=DEFAULT_FROM, note="Rp 100 per credit before tax (PPN added on top)."
    )
    PriceTier.objects.create(price_list=price_list, min_credits=1000, unit_price=100)


def remove_default(apps, schema_editor):
    apps.get_model("billing", "PriceList").objects.filter(name="Default", effective_from=DEFAULT_FROM).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_purchases")]

    operations = [migrations.RunPython(create_default, remove_default)]
