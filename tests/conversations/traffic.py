"""Generated WhatsApp traffic: a month of messages and the status webhooks Meta would send for them.

Used by the replay test and by ``bench/whatsapp_bench.py``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime

RECIPIENTS = {"ID": "628{:09d}", "US": "1650{:07d}", "SG": "65{:08d}"}


@dataclass
class Message:
    wamid: str
    recipient: str
    country: str
    category: str
    sent: int
    delivered: bool
    read: bool
    failed: bool
    pricing_type: str
    conversation_id: str
    model: str


def month_of_messages(*, year: int, month: int, count: int, seed: int = 7, model: str = "PMP") -> list[Message]:
    rng = random.Random(seed)
    start = int(datetime(year, month, 1, 1, tzinfo=UTC).timestamp())
    span = 27 * 86400
    messages = []
    conversations: dict[tuple[str, str], tuple[str, int]] = {}
    sents = sorted(start + rng.randrange(span) for _ in range(count))
    for i in range(count):
        country = rng.choice(["ID", "ID", "ID", "US", "SG"])
        recipient = RECIPIENTS[country].format(rng.randrange(40 if model == "CBP" else 10**6))
        category = rng.choice(["marketing", "utility", "authentication", "service", "marketing"])
        sent = sents[i]
        fate = rng.random()
        delivered = fate < 0.85
        read = delivered and rng.random() < 0.6
        failed = not delivered and fate > 0.93
        pricing_type = "regular"
        if category == "service":
            pricing_type = "free_customer_service"
        elif category == "utility" and rng.random() < 0.3:
            pricing_type = "free_customer_service"
        conversation_id = ""
        if model == "CBP":
            # A conversation per customer and category lasts 24 hours from its first message.
            open_conv = conversations.get((recipient, category))
            if open_conv is None or sent >= open_conv[1] + 86400:
                open_conv = (f"conv-{i:06d}", sent)
                conversations[(recipient, category)] = open_conv
            conversation_id = open_conv[0]
        messages.append(
            Message(
                f"wamid.gen.{model}.{seed}.{i:06d}",
                recipient,
                country,
                category,
                sent,
                delivered,
                read,
                failed,
                pricing_type,
                conversation_id,
                model,
            )
        )
    return messages


def statuses_for(message: Message, conversation_opened: dict[str, int] | None = None) -> list[dict]:
    """The status webhooks (``value.statuses`` entries) of one message; pricing on sent and delivered only."""

    def status(name: str, ts: int, with_pricing: bool) -> dict:
        entry = {"id": message.wamid, "status": name, "timestamp": str(ts), "recipient_id": message.recipient}
        if with_pricing:
            pricing = {
                "billable": message.pricing_type == "regular",
                "pricing_model": message.model,
                "category": message.category,
            }
            if message.model == "PMP":
                pricing["type"] = message.pricing_type
            else:
                pricing["billable"] = message.category != "service"
            entry["pricing"] = pricing
            if message.model == "CBP":
                opened = (conversation_opened or {}).get(message.conversation_id, message.sent)
                entry["conversation"] = {"id": message.conversation_id, "origin": {"type": message.category}}
                if name == "sent":
                    entry["conversation"]["expiration_timestamp"] = str(opened + 86400)
        return entry

    out = [status("sent", message.sent, True)]
    if message.delivered:
        out.append(status("delivered", message.sent + 2, True))
    if message.read:
        out.append(status("read", message.sent + 60, False))
    if message.failed:
        out.append(
            {
                "id": message.wamid,
                "status": "failed",
                "timestamp": str(message.sent + 5),
                "recipient_id": message.recipient,
                "errors": [{"code": 131026, "title": "Message undeliverable"}],
            }
        )
    return out


def all_statuses(messages: list[Message]) -> list[dict]:
    opened: dict[str, int] = {}
    for m in messages:
        if m.conversation_id:
            opened[m.conversation_id] = min(opened.get(m.conversation_id, m.sent), m.sent)
    return [s for m in messages for s in statuses_for(m, opened)]


def deliveries(statuses: list[dict], *, per_delivery: int, phone_number_id: str, waba_id: str) -> list[bytes]:
    """Group statuses into webhook bodies the way Meta batches them."""
    bodies = []
    for start in range(0, len(statuses), per_delivery):
        payload = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": waba_id,
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "6281100000000",
                                    "phone_number_id": phone_number_id,
                                },
                                "statuses": statuses[start : start + per_delivery],
                            },
                        }
                    ],
                }
            ],
        }
        bodies.append(json.dumps(payload).encode())
    return bodies


def shuffled_with_duplicates(statuses: list[dict], *, seed: int, duplicate_share: float = 0.3) -> list[dict]:
    rng = random.Random(seed)
    out = list(statuses) + rng.sample(statuses, int(len(statuses) * duplicate_share))
    rng.shuffle(out)
    return out
