"""Seed rate cards: Indonesia (IDR) from DESIGN.md and an "other" fallback for every other market.

Staff edit rates in the admin by adding cards with a later effective date; these stay for history.
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.db import migrations

SEED_FROM = datetime(2022, 6, 1, tzinfo=UTC)
SERVICE_FREE_FROM = datetime(2024, 11, 1, tzinfo=UTC)
# Service conversations were paid (after the monthly free tier) until 31 October 2024. Approximate
# historical rates, only used to rate old traffic; review them before billing history.
HISTORY = [
    ("ID", "service", "341", "Indonesia service (historical, before 1 Nov 2024)"),
    ("other", "service", "188", "Other markets service (historical, before 1 Nov 2024)"),
]
CARDS = [
    ("ID", "marketing", "657", "Indonesia, seed rate"),
    ("ID", "utility", "321", "Indonesia, seed rate"),
    ("ID", "authentication", "430", "Indonesia, seed rate"),
    ("ID", "service", "0", "Indonesia: service conversations free"),
    # Meta's "Other" market, converted from USD at about Rp 16,300: review before relying on it.
    ("other", "marketing", "985", "Other markets, fallback"),
    ("other", "utility", "126", "Other markets, fallback"),
    ("other", "authentication", "598", "Other markets, fallback"),
    ("other", "service", "0", "Other markets: service conversations free"),
]


def seed(apps, schema_editor):
    RateCard = apps.get_model("conversations", "RateCard")
    historical = {(market, category) for market, category, _price, _note in HISTORY}
    rows = [(*card, SEED_FROM) for card in HISTORY]
    rows += [(*card, SERVICE_FREE_FROM if card[:2] in historical else SEED_FROM) for card in CARDS]
    for market, category, price, note, effective_from in rows:
        RateCard.objects.get_or_create(
            market=market,
            category=category,
            effective_from=effective_from,
            defaults={"price": Decimal(price), "currency": "IDR", "note": note},
        )


def unseed(apps, schema_editor):
    RateCard = apps.get_model("conversations", "RateCard")
    RateCard.objects.filter(effective_from__in=[SEED_FROM, SERVICE_FREE_FROM]).delete()


class Migration(migrations.Migration):
    dependencies = [("conversations", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
