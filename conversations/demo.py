"""Demo WhatsApp traffic for `manage.py seed_demo`: a number for the demo organization and the last month
and this month of rated messages. Idempotent: once the demo number has traffic, nothing more is added."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from . import rating
from .models import Conversation
from .services import statuses_apply, whatsapp_number_add

DEMO_PHONE_NUMBER_ID = "109876543210001"
DEMO_WABA_ID = "209876543210001"
DEMO_DISPLAY_NUMBER = "+62 811 2026 0001"


def seed(*, organization, owner, stdout) -> None:
    number = whatsapp_number_add(
        organization=organization,
        phone_number_id=DEMO_PHONE_NUMBER_ID,
        waba_id=DEMO_WABA_ID,
        display_number=DEMO_DISPLAY_NUMBER,
    )
    if Conversation.objects.filter(phone_number_id=DEMO_PHONE_NUMBER_ID).exists():
        return
    rng = random.Random(2026)
    now = timezone.now()
    start = now - timedelta(days=45)
    updates = []
    categories = ["marketing"] * 3 + ["utility"] * 4 + ["authentication"] * 2 + ["service"] * 3
    for i in range(600):
        sent = start + timedelta(seconds=rng.randrange(int((now - start).total_seconds()) - 120))
        country = rng.choice(["62"] * 9 + ["65", "1650"])
        recipient = country + "".join(str(rng.randrange(10)) for _ in range(10 if country == "62" else 7))
        category = rng.choice(categories)
        pricing_type = "free_customer_service" if category == "service" or rng.random() < 0.15 else "regular"
        common: dict[str, Any] = dict(
            event_id=None, waba_id=DEMO_WABA_ID, phone_number_id=DEMO_PHONE_NUMBER_ID,
            display_number=DEMO_DISPLAY_NUMBER, wamid=f"wamid.demo.{i:05d}", recipient=recipient,
            pricing_model="PMP", pricing_category=category, pricing_type=pricing_type,
            billable=pricing_type == "regular",
        )  # fmt: skip
        updates.append(rating.StatusUpdate(status="sent", timestamp=sent, **common))
        if rng.random() < 0.92:
            updates.append(rating.StatusUpdate(status="delivered", timestamp=sent + timedelta(seconds=3), **common))
        else:
            updates.append(rating.StatusUpdate(status="failed", timestamp=sent + timedelta(seconds=5), **common))
    statuses_apply(updates=updates, numbers={DEMO_PHONE_NUMBER_ID: number})
    count = Conversation.objects.filter(phone_number_id=DEMO_PHONE_NUMBER_ID).count()
    stdout.write(f"  WhatsApp: {DEMO_DISPLAY_NUMBER} with {count} rated messages over the last 45 days")
