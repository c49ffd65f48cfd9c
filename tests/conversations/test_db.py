"""The rating worker's set-based writes (``conversations/db.py``) round-trip every kind of value the models hold,
sent as binary arrays: NULL-only columns, empty strings, decimals, dates, aware datetimes, UUIDs, booleans."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from conversations import db
from conversations.models import Conversation

pytestmark = pytest.mark.django_db


def conversation(key: str, **fields) -> Conversation:
    values = {
        "phone_number_id": "PN-1",
        "pricing_model": "PMP",
        "key": key,
        "market": "ID",
        "category": "utility",
        "opened_at": datetime(2025, 7, 31, 16, 59, 59, 999999, tzinfo=UTC),
        "month": date(2025, 8, 1),
        **fields,
    }
    return Conversation(**values)


def test_insert_and_update_round_trip_nulls_empties_and_exact_values(organization):
    rows = [
        conversation("k1", organization=organization, rated_price=Decimal("321.50"), meta_billable=True),
        # A decimal column's default is the int 0 and an id may come as text: each column goes as one type.
        conversation("k2", calling_code=None, meta_billable=None, customer="", organization_id=str(organization.pk)),
    ]
    inserted = db.bulk_insert_ignore_conflicts(Conversation, rows, returning=True)
    assert sorted(map(str, inserted)) == sorted(str(r.pk) for r in rows)
    assert db.bulk_insert_ignore_conflicts(Conversation, rows, returning=True) == []  # a conflict inserts nothing

    first = Conversation.objects.get(key="k1")
    assert (first.organization_id, first.rated_price, first.meta_billable) == (organization.pk, Decimal("321.50"), True)
    assert first.opened_at == datetime(2025, 7, 31, 16, 59, 59, 999999, tzinfo=UTC)
    second = Conversation.objects.get(key="k2")
    assert (second.organization_id, second.calling_code, second.meta_billable, second.customer) == (
        organization.pk,
        None,
        None,
        "",
    )
    assert second.rated_price == Decimal(0)

    for row in rows:  # every value of a column NULL, or changed to an exact decimal
        row.tier_position, row.price, row.free_reason = None, Decimal("0.01"), ""
    rows[0].tier_position = 7
    db.bulk_update(Conversation, rows, ["tier_position", "price", "free_reason"])
    assert sorted(Conversation.objects.values_list("key", "tier_position", "price")) == [
        ("k1", 7, Decimal("0.01")),
        ("k2", None, Decimal("0.01")),
    ]
    rows[0].tier_position = None
    db.bulk_update(Conversation, rows, ["tier_position"])
    assert set(Conversation.objects.values_list("tier_position", flat=True)) == {None}


def test_a_float_for_a_decimal_column_is_refused_not_rounded():
    with pytest.raises(TypeError, match="float"):
        db.bulk_insert_ignore_conflicts(Conversation, [conversation("k3", price=0.1)])
    assert not Conversation.objects.exists()
