import importlib

import pytest
from django.apps import apps

from conversations.services import whatsapp_number_add


@pytest.fixture(autouse=True)
def rate_cards(db):
    """The seeded rate cards (a data migration). A transactional test anywhere in the suite flushes the
    database, so seed them again when they are gone."""
    for name in ("0002_seed_rate_cards", "0006_idr_rate_card"):
        importlib.import_module(f"conversations.migrations.{name}").seed(apps, None)


@pytest.fixture
def number(organization):
    return whatsapp_number_add(
        organization=organization, phone_number_id="PNID-TEST", waba_id="WABA-TEST", display_number="+62 811 0000 000"
    )


@pytest.fixture
def fixture_numbers(organization):
    """The numbers Meta's published examples were sent from, registered to ``organization``."""
    return [
        whatsapp_number_add(organization=organization, phone_number_id=pnid, waba_id=waba, display_number=display)
        for pnid, waba, display in [
            ("106540352242922", "102290129340398", "15550783881"),
            ("1122334455667", "5467539754836534", "972123456789"),
            ("614145445111849", "3827440200905116", "573138867064"),
        ]
    ]


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture(autouse=True)
def fresh_flag_window(monkeypatch):
    """Each test starts as a fresh web process: it has not seen the drain flag (a module-level timestamp)."""
    from conversations.services import ingestion

    monkeypatch.setattr(ingestion, "_flag_seen_at", float("-inf"))
