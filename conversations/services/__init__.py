"""Writes for WhatsApp conversations, by concept: numbers, ingestion of Meta's deliveries, rating and charging,
monthly statements. Callers import from here; the modules are the implementation."""

from .charging import (
    ApplyResult,
    conversations_rerate,
    free_tier_settle,
    statuses_apply,
    volume_tier_settle,
    waba_locks,
)
from .ingestion import (
    BATCH_SIZE,
    DRAIN_FLAG,
    events_drain,
    events_process,
    events_process_pending,
    webhook_event_store,
    webhook_events_reprocess,
)
from .numbers import unknown_number_assign, whatsapp_number_add
from .rate_cards import (
    RateCardFileError,
    parse_rate_card,
    parse_rate_card_rows,
    rate_card_import_apply,
    rate_card_import_preview,
    rate_card_is_frozen,
    xlsx_rows,
)
from .statements import month_close, previous_month, rupiah, statement_close

__all__ = [
    "BATCH_SIZE",
    "DRAIN_FLAG",
    "ApplyResult",
    "conversations_rerate",
    "events_drain",
    "events_process",
    "events_process_pending",
    "free_tier_settle",
    "month_close",
    "previous_month",
    "RateCardFileError",
    "parse_rate_card",
    "parse_rate_card_rows",
    "rate_card_import_apply",
    "rate_card_import_preview",
    "rate_card_is_frozen",
    "rupiah",
    "statement_close",
    "statuses_apply",
    "unknown_number_assign",
    "volume_tier_settle",
    "waba_locks",
    "webhook_event_store",
    "webhook_events_reprocess",
    "whatsapp_number_add",
    "xlsx_rows",
]
