"""The ways a customer can pay, in Saldo's words, and how each gateway names them.

Saldo keeps one code per method (``bca_va``, ``qris``, ``ovo``...). Staff choose which are offered
(``billing.PaymentMethod``); each adapter turns the enabled codes into its own list when it opens a session
(Midtrans Snap ``enabled_payments``, Xendit invoice ``payment_methods``), and turns the method named in a
notification back into a Saldo code, stored on the purchase.

Gateway names, from their documentation:
- Midtrans Snap ``enabled_payments``: ``bca_va``, ``bni_va``, ``bri_va``, ``echannel`` (Mandiri Bill),
  ``permata_va``, ``other_va``, ``gopay``, ``shopeepay``, ``other_qris`` (docs.midtrans.com, Snap request body).
  OVO and DANA have no Snap code in that list: their users pay the QRIS, which every Indonesian e-wallet
  scans (Bank Indonesia's standard). Notifications name the method in ``payment_type`` (``bank_transfer``
  with ``va_numbers[].bank`` or ``permata_va_number``, ``echannel``, ``gopay``, ``shopeepay``, ``qris`` with
  ``issuer``/``acquirer``).
- Xendit invoices ``payment_methods``: ``BCA``, ``BNI``, ``BRI``, ``MANDIRI``, ``PERMATA``, ``QRIS``, ``OVO``,
  ``DANA``, ``SHOPEEPAY``, ``LINKAJA``; callbacks carry ``payment_method`` (``BANK_TRANSFER``, ``EWALLET``,
  ``QR_CODE``...) and ``payment_channel`` (``BCA``, ``OVO``, ``DANA``, ``QRIS``...).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

VA = "va"
QRIS = "qris"
EWALLET = "ewallet"
KINDS = ((VA, _("Bank virtual account")), (QRIS, _("QRIS")), (EWALLET, _("E-wallet")))


@dataclass(frozen=True)
class Method:
    code: str
    kind: str
    label: str
    midtrans: tuple[str, ...]  # Snap enabled_payments values that offer it
    xendit: tuple[str, ...]  # Xendit invoice payment_methods values that offer it
    bank: str = ""  # the bank's short name, for VA pages


CATALOGUE: tuple[Method, ...] = (
    Method("bca_va", VA, "BCA Virtual Account", ("bca_va",), ("BCA",), "BCA"),
    Method("bni_va", VA, "BNI Virtual Account", ("bni_va",), ("BNI",), "BNI"),
    Method("bri_va", VA, "BRI Virtual Account", ("bri_va",), ("BRI",), "BRI"),
    Method("mandiri_bill", VA, "Mandiri Bill Payment", ("echannel",), ("MANDIRI",), "Mandiri"),
    Method("permata_va", VA, "Permata Virtual Account", ("permata_va",), ("PERMATA",), "Permata"),
    Method("other_va", VA, "Other banks (ATM Bersama, Prima, Alto)", ("other_va",), (), ""),
    Method("qris", QRIS, "QRIS", ("other_qris",), ("QRIS",)),
    Method("gopay", EWALLET, "GoPay", ("gopay",), ()),
    Method("shopeepay", EWALLET, "ShopeePay", ("shopeepay",), ("SHOPEEPAY",)),
    Method("ovo", EWALLET, "OVO", ("other_qris",), ("OVO",)),
    Method("dana", EWALLET, "DANA", ("other_qris",), ("DANA",)),
    Method("linkaja", EWALLET, "LinkAja", ("other_qris",), ("LINKAJA",)),
)
BY_CODE = {m.code: m for m in CATALOGUE}
DEFAULT_ENABLED = (
    "bca_va",
    "bni_va",
    "bri_va",
    "mandiri_bill",
    "permata_va",
    "qris",
    "gopay",
    "shopeepay",
    "ovo",
    "dana",
)


def label(code: str) -> str:
    method = BY_CODE.get(code)
    return method.label if method else code


def gateway_codes(codes, gateway: str) -> list[str]:
    """The gateway's names for the enabled Saldo methods, in order, without duplicates."""
    out: list[str] = []
    for code in codes:
        method = BY_CODE.get(code)
        for name in getattr(method, gateway, ()) if method else ():
            if name not in out:
                out.append(name)
    return out


_MIDTRANS_BANKS = {
    "bca": "bca_va",
    "bni": "bni_va",
    "bri": "bri_va",
    "permata": "permata_va",
    "mandiri": "mandiri_bill",
}


def from_midtrans(payload: dict) -> str:
    """The Saldo method code a Midtrans (or sandbox) notification names, or "" when it names none we know."""
    payment_type = str(payload.get("payment_type") or "").lower()
    if payment_type == "bank_transfer":
        if payload.get("permata_va_number"):
            return "permata_va"
        numbers = payload.get("va_numbers")
        bank = ""
        if isinstance(numbers, list) and numbers and isinstance(numbers[0], dict):
            bank = str(numbers[0].get("bank") or "").lower()
        return _MIDTRANS_BANKS.get(bank, "other_va")
    if payment_type == "echannel":
        return "mandiri_bill"
    if payment_type in ("gopay", "shopeepay", "ovo", "dana", "linkaja"):  # Core API e-wallet payment types
        return payment_type
    if payment_type == "qris":
        return "qris"
    return ""


_XENDIT_CHANNELS = {
    "BCA": "bca_va",
    "BNI": "bni_va",
    "BRI": "bri_va",
    "MANDIRI": "mandiri_bill",
    "PERMATA": "permata_va",
    "QRIS": "qris",
    "OVO": "ovo",
    "DANA": "dana",
    "SHOPEEPAY": "shopeepay",
    "LINKAJA": "linkaja",
}


def from_xendit(payload: dict) -> str:
    """The Saldo method code a Xendit invoice callback names (``payment_channel``, then ``payment_method``)."""
    channel = str(payload.get("payment_channel") or payload.get("ewallet_type") or payload.get("bank_code") or "")
    code = _XENDIT_CHANNELS.get(channel.upper(), "")
    if code:
        return code
    method = str(payload.get("payment_method") or "").upper()
    if method == "QR_CODE":
        return "qris"
    if method in ("BANK_TRANSFER", "CALLBACK_VIRTUAL_ACCOUNT"):
        return "other_va"
    return ""


def detail_from_midtrans(payload: dict) -> str:
    """A short human detail: the QRIS issuer (which app paid), the VA number."""
    if str(payload.get("payment_type") or "") == "qris":
        issuer = str(payload.get("issuer") or payload.get("acquirer") or "")
        return issuer[:40]
    numbers = payload.get("va_numbers")
    if isinstance(numbers, list) and numbers and isinstance(numbers[0], dict):
        return str(numbers[0].get("va_number") or "")[:40]
    return str(payload.get("permata_va_number") or payload.get("bill_key") or "")[:40]
