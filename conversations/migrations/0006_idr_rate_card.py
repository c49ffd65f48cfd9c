"""The IDR rate card for Indonesia: the seed's rates (DESIGN.md: marketing 657, utility 321, authentication 430,
service free) with authentication-international, which Meta prices apart from 1 June 2024 for Indonesia.

Every other market comes from Meta's published rate card files, imported by staff in the admin (*Rate card
imports*: preview, then apply); see docs/whatsapp-rate-cards.md. Existing conversations are charged as their
category (authentication-international did not exist in Saldo before, so nothing is re-rated).
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.db import migrations
from django.db.models import F

# Meta: authentication-international rates apply to Indonesia (+62) from 2024-06-01.
AUTH_INTERNATIONAL_FROM = datetime(2024, 6, 1, tzinfo=UTC)
# Meta's USD rate for Indonesia, 0.136, at about Rp 16,300 a dollar: not Meta's IDR figure (none was found
# published; docs/whatsapp-rate-cards.md, "Where Rp 2,217 comes from"). Replace it with Meta's IDR card's figure
# by importing that card (a later effective date wins).
AUTH_INTERNATIONAL_PRICE = Decimal("2217")


def seed(apps, schema_editor):
    RateCard = apps.get_model("conversations", "RateCard")
    RateCard.objects.get_or_create(
        market="ID",
        category="authentication_international",
        effective_from=AUTH_INTERNATIONAL_FROM,
        tier_from=1,
        defaults={
            "price": AUTH_INTERNATIONAL_PRICE,
            "currency": "IDR",
            "note": "Indonesia authentication-international (USD 0.136 converted; import Meta's IDR card)",
        },
    )


def backfill(apps, schema_editor):
    Conversation = apps.get_model("conversations", "Conversation")
    Conversation.objects.filter(rate_category="").update(rate_category=F("category"))


def unseed(apps, schema_editor):
    RateCard = apps.get_model("conversations", "RateCard")
    RateCard.objects.filter(category="authentication_international", effective_from=AUTH_INTERNATIONAL_FROM).delete()


class Migration(migrations.Migration):
    dependencies = [("conversations", "0005_rate_card_tiers_corrections_tier_updates")]

    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
