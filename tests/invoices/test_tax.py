"""PPN by tax rules with effective dates (PMK 131/2024): until 2024-12-31 11 % on DPP; from 2025-01-01 12 % on
DPP Nilai Lain = 11/12 × DPP, rounded to the sen, PPN half-up to whole rupiah per line (docs/tax.md)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from billing.selectors import price_quote
from invoices.models import Invoice, TaxRule
from invoices.services import invoice_create, invoice_credit_note, invoice_mark_paid
from invoices.tax import TaxTerms, tax_terms_on

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
OLD = date(2024, 12, 31)
NEW = date(2025, 1, 1)

# (DPP, DPP Nilai Lain from 2025, PPN from 2025, PPN until 2024): where 11/12 rounding bites and where it does
# not. Rp 50 is the case that differs: 11 % of 50 = 5.5 → 6, but 12 % of 45.83 = 5.4996 → 5.
BOUNDARIES = [
    (0, Decimal("0.00"), 0, 0),
    (1, Decimal("0.92"), 0, 0),
    (11, Decimal("10.08"), 1, 1),
    (12, Decimal("11.00"), 1, 1),
    (50, Decimal("45.83"), 5, 6),
    (100, Decimal("91.67"), 11, 11),
    (111_111, Decimal("101851.75"), 12_222, 12_222),
    (999_999_999, Decimal("916666665.75"), 110_000_000, 110_000_000),
]


def test_the_migration_seeds_both_rules():
    old, new = tax_terms_on(OLD), tax_terms_on(NEW)
    assert (old.rate, old.base_kind, old.trx_code) == (Decimal("0.11"), "dpp", "01")
    assert (new.rate, new.base_kind, new.numerator, new.denominator, new.trx_code) == (
        Decimal("0.12"),
        "dpp_nilai_lain",
        11,
        12,
        "04",
    )
    # A datetime counts by its Asia/Jakarta day: 17:00 UTC on 31 Dec is already 1 Jan in Jakarta.
    assert tax_terms_on(datetime(2024, 12, 31, 16, 59, tzinfo=ZoneInfo("UTC"))).rate == Decimal("0.11")
    assert tax_terms_on(datetime(2024, 12, 31, 17, 0, tzinfo=ZoneInfo("UTC"))).rate == Decimal("0.12")


@pytest.mark.parametrize(("dpp", "other", "ppn_new", "ppn_old"), BOUNDARIES, ids=[str(b[0]) for b in BOUNDARIES])
def test_rounding_on_boundary_amounts(dpp, other, ppn_new, ppn_old):
    assert tax_terms_on(NEW).line(dpp) == (other, ppn_new)
    assert tax_terms_on(OLD).line(dpp) == (Decimal(dpp).quantize(Decimal("0.01")), ppn_old)


@pytest.mark.parametrize(("dpp", "other", "ppn_new", "ppn_old"), BOUNDARIES, ids=[str(b[0]) for b in BOUNDARIES])
def test_an_invoice_line_declares_the_same_figures(organization, no_pdf, dpp, other, ppn_new, ppn_old):
    for day, ppn, base in ((NEW, ppn_new, other), (OLD, ppn_old, Decimal(dpp))):
        invoice = invoice_create(
            organization=organization, lines=[{"description": "x", "quantity": 1, "unit_price": dpp}], tax_date=day
        )
        (line,) = invoice.lines.all()
        assert (line.tax_base, line.other_tax_base, line.tax) == (dpp, base, ppn)
        assert (invoice.tax_base, invoice.other_tax_base, invoice.tax, invoice.total) == (dpp, base, ppn, dpp + ppn)


@pytest.mark.parametrize(
    ("moment", "rate", "kind", "other", "trx"),
    [
        (datetime(2024, 12, 31, 23, 59, tzinfo=JAKARTA), Decimal("0.11"), "dpp", Decimal("500000.00"), "01"),
        (datetime(2025, 1, 1, 0, 0, tzinfo=JAKARTA), Decimal("0.12"), "dpp_nilai_lain", Decimal("458333.33"), "04"),
    ],
    ids=["2024-12-31", "2025-01-01"],
)
def test_the_same_purchase_on_either_side_of_the_change(organization, no_pdf, moment, rate, kind, other, trx):
    """5,000 credits at Rp 100: the summary's quote and the invoice use the same rule, the one of the day."""
    with time_machine.travel(moment, tick=False):
        quote = price_quote(credits=5000)
        invoice = invoice_create(
            organization=organization,
            lines=[{"description": "credits", "quantity": 5000, "unit_price": quote.unit_price}],
        )
    assert (quote.tax_rate, quote.other_tax_base, quote.tax, quote.total) == (rate, other, 55_000, 555_000)
    assert invoice.tax_date == moment.date()
    assert (invoice.tax_rate, invoice.tax_base_kind, invoice.tax_trx_code) == (rate, kind, trx)
    assert (invoice.tax_base, invoice.other_tax_base, invoice.tax, invoice.total) == (500_000, other, 55_000, 555_000)
    assert invoice.tax_rule == TaxRule.objects.get(valid_from=date(2022, 4, 1) if rate == Decimal("0.11") else NEW)


def test_a_statement_with_many_lines_sums_its_lines(organization, no_pdf):
    """PPN is per line (each rounded), the invoice is the sum; with DPP Nilai Lain kept to the sen."""
    amounts = [1, 11, 12, 50, 100, 111_111, 7, 13, 999, 1_001, 45, 50, 50, 150, 1_234_567] * 4
    invoice = invoice_create(
        organization=organization,
        kind=Invoice.Kind.STATEMENT,
        lines=[{"description": f"conversations {i}", "quantity": 1, "unit_price": a} for i, a in enumerate(amounts)],
        tax_date=date(2025, 7, 31),
    )
    lines = list(invoice.lines.all())
    terms = tax_terms_on(date(2025, 7, 31))
    assert len(lines) == 60
    assert [(line.other_tax_base, line.tax) for line in lines] == [terms.line(a) for a in amounts]
    assert invoice.tax_base == invoice.subtotal == sum(amounts)
    assert invoice.other_tax_base == sum(line.other_tax_base for line in lines)
    assert invoice.tax == sum(line.tax for line in lines)
    assert invoice.total == invoice.subtotal + invoice.tax
    # Per line is not the same as once on the total: the document says per line, and so does Coretax.
    assert invoice.tax != terms.line(sum(amounts))[1]


@pytest.mark.parametrize(("day", "rate", "kind"), [(OLD, "0.11", "dpp"), (NEW, "0.12", "dpp_nilai_lain")])
def test_a_credit_note_follows_the_rule_of_the_invoice_it_corrects(organization, no_pdf, day, rate, kind):
    invoice = invoice_create(
        organization=organization,
        lines=[
            {"description": "a", "quantity": 1, "unit_price": 50},
            {"description": "b", "quantity": 3, "unit_price": 37},
        ],
        tax_date=day,
    )
    invoice = invoice_mark_paid(invoice=invoice)
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA), tick=False):
        note = invoice_credit_note(invoice=invoice, reason="refund")
    assert note.is_credit_note and note.tax_date == day
    assert (note.tax_rate, note.tax_base_kind, note.tax_trx_code) == (Decimal(rate), kind, invoice.tax_trx_code)
    assert (note.tax_base, note.other_tax_base, note.tax, note.total) == (
        invoice.tax_base,
        invoice.other_tax_base,
        invoice.tax,
        invoice.total,
    )
    assert [(x.other_tax_base, x.tax) for x in note.lines.all()] == [
        (x.other_tax_base, x.tax) for x in invoice.lines.all()
    ]


def test_editing_a_rule_never_changes_an_issued_invoice(organization, no_pdf):
    invoice = invoice_create(
        organization=organization, lines=[{"description": "a", "quantity": 1000, "unit_price": 100}], tax_date=NEW
    )
    rule = TaxRule.objects.get(valid_from=NEW)
    rule.rate, rule.other_base_numerator = Decimal("0.15"), 12
    rule.save()
    invoice.refresh_from_db()
    assert (invoice.tax_rate, invoice.tax_base_numerator, invoice.other_tax_base, invoice.tax) == (
        Decimal("0.12"),
        11,
        Decimal("91666.67"),
        11_000,
    )
    # The next invoice takes the edited rule.
    later = invoice_create(
        organization=organization, lines=[{"description": "a", "quantity": 1000, "unit_price": 100}], tax_date=NEW
    )
    assert (later.tax_rate, later.other_tax_base, later.tax) == (Decimal("0.15"), Decimal("100000.00"), 15_000)


def test_without_rules_the_tax_rate_setting_is_the_fallback(organization, no_pdf, settings):
    TaxRule.objects.all().delete()
    settings.TAX_RATE = Decimal("0.10")
    assert tax_terms_on(NEW) == TaxTerms(rate=Decimal("0.10"), name="TAX_RATE")
    quote = price_quote(credits=1000)
    assert (quote.tax_rate, quote.tax, quote.other_tax_base) == (Decimal("0.10"), 10_000, Decimal("100000.00"))


def test_a_rule_period_cannot_overlap_another():
    rule = TaxRule(name="x", valid_from=date(2025, 6, 1), rate=Decimal("0.12"), base_kind="dpp", trx_code="01")
    with pytest.raises(ValidationError, match="overlaps"):
        rule.full_clean()
    rule = TaxRule(name="x", valid_from=date(2020, 1, 1), valid_to=date(2019, 1, 1), rate=Decimal("0.1"))
    with pytest.raises(ValidationError):
        rule.full_clean()
    ok = TaxRule(
        name="PPN 10%", valid_from=date(2010, 1, 1), valid_to=date(2022, 3, 31), rate=Decimal("0.10"), trx_code="01"
    )
    ok.full_clean()
    ok.save()
    assert tax_terms_on(date(2021, 5, 5)).rate == Decimal("0.10")
