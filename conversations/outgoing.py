"""Outgoing events about WhatsApp statements (events app): ``statement.issued`` once per statement, written in
the transaction that closed the month and issued its invoice. The payload is the month summary in the shape of
``GET /api/v1/conversations/summary`` with the statement's id, totals and invoice id."""

from __future__ import annotations

import events
from events import types

from .models import MonthlyStatement


def statement_issued(statement: MonthlyStatement) -> None:
    if statement.invoice_id is None:
        return  # nothing billed: no statement invoice was issued
    events.emit(
        organization=statement.organization,
        type=types.STATEMENT_ISSUED,
        payload={
            "id": str(statement.pk),
            "month": statement.month.strftime("%Y-%m"),
            "total_amount": statement.total_amount,
            "conversations_count": statement.conversations_count,
            "invoice_id": str(statement.invoice_id),
            "summary": statement.summary,
        },
        dedupe_key=f"{types.STATEMENT_ISSUED}:{statement.pk}",
    )
