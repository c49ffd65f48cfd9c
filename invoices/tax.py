"""PPN: which rule applies on a day, and how an amount becomes DPP, DPP Nilai Lain and PPN.

Rules enforced here (docs/tax.md):

- The rule in force on a tax date (Asia/Jakarta calendar day) is the :class:`~invoices.models.TaxRule` whose
  period contains it. Only when the table is empty (a deployment that deleted every rule) does
  ``settings.TAX_RATE`` apply, as PPN on DPP with transaction code 01.
- Per line: DPP is the line amount in whole rupiah. With a DPP Nilai Lain rule, DPP Nilai Lain =
  numerator/denominator × DPP (11/12), rounded half-up **to the sen** (2 decimals), as Coretax declares it
  (its published sample: DPP 100,000 → ``OtherTaxBase`` 91666.67). Otherwise DPP Nilai Lain = DPP.
- PPN of a line = rate × DPP Nilai Lain, rounded half-up to **whole rupiah** (invariant 8). The invoice's
  DPP, DPP Nilai Lain and PPN are the sums of its lines, so the invoice and its e-Faktur export agree to
  the rupiah.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.money import round_rupiah

from .models import TaxBaseKind, TaxRule

__all__ = ["TaxTerms", "tax_date_of", "tax_terms_on", "tax_terms_of_invoice", "SEN"]

JAKARTA = ZoneInfo("Asia/Jakarta")
SEN = Decimal("0.01")


@dataclass(frozen=True)
class TaxTerms:
    """The frozen terms of one invoice: what it copies from the rule in force."""

    rate: Decimal
    base_kind: str = TaxBaseKind.DPP
    numerator: int = 1
    denominator: int = 1
    trx_code: str = "01"
    rule_id: int | None = None
    name: str = ""

    @property
    def uses_other_tax_base(self) -> bool:
        return self.base_kind == TaxBaseKind.DPP_NILAI_LAIN

    @property
    def percent(self) -> Decimal:
        return (self.rate * 100).normalize()

    def other_tax_base(self, tax_base: int) -> Decimal:
        """DPP Nilai Lain of a DPP in whole rupiah: half-up to the sen."""
        if isinstance(tax_base, float):
            raise TypeError("Money is never a float: pass int or Decimal.")
        base = Decimal(tax_base)
        if self.uses_other_tax_base:
            base = base * self.numerator / self.denominator
        return base.quantize(SEN, rounding=ROUND_HALF_UP)

    def line(self, tax_base: int, rate: Decimal | None = None) -> tuple[Decimal, int]:
        """(DPP Nilai Lain, PPN) of a line whose DPP is ``tax_base``; ``rate`` overrides the rule's (0 for an
        exempt line)."""
        other = self.other_tax_base(tax_base)
        rate = self.rate if rate is None else Decimal(rate)
        return other, round_rupiah(other * rate)


def tax_date_of(moment: datetime | date | None = None) -> date:
    """The Asia/Jakarta calendar day of ``moment`` (default now)."""
    if moment is None:
        moment = timezone.now()
    if isinstance(moment, datetime):
        return timezone.localtime(moment, JAKARTA).date() if timezone.is_aware(moment) else moment.date()
    return moment


def _fallback() -> TaxTerms:
    return TaxTerms(rate=Decimal(settings.TAX_RATE), name="TAX_RATE")


def tax_terms_on(day: date | datetime | None = None) -> TaxTerms:
    """The terms of the rule in force on ``day`` (a datetime counts by its Jakarta day). With no rule for
    that day but rules in the table, the latest rule that started before it (a gap staff left); with no
    rules at all, ``settings.TAX_RATE`` on DPP."""
    day = tax_date_of(day)
    rules = TaxRule.objects.filter(valid_from__lte=day).order_by("-valid_from")
    rule = rules.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day)).first() or rules.first()
    if rule is None:
        rule = TaxRule.objects.order_by("valid_from").first()
    if rule is None:
        return _fallback()
    dpp_nilai_lain = rule.base_kind == TaxBaseKind.DPP_NILAI_LAIN
    return TaxTerms(
        rate=rule.rate,
        base_kind=rule.base_kind,
        numerator=rule.other_base_numerator if dpp_nilai_lain else 1,
        denominator=rule.other_base_denominator if dpp_nilai_lain else 1,
        trx_code=rule.trx_code,
        rule_id=rule.pk,
        name=rule.name,
    )


def tax_terms_of_invoice(invoice) -> TaxTerms:
    """The terms frozen on an invoice (its credit note and a replacement reuse them, whatever the rules
    say today)."""
    return TaxTerms(
        rate=invoice.tax_rate,
        base_kind=invoice.tax_base_kind,
        numerator=invoice.tax_base_numerator or 1,
        denominator=invoice.tax_base_denominator or 1,
        trx_code=invoice.tax_trx_code or "01",
        rule_id=invoice.tax_rule_id,
        name="",
    )
