"""Forms of the top-up flow: choose credits, then confirm the summary with billing details."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_billing_address
from core.tax_ids import DOCUMENT_TIN, DOCUMENT_TYPES, clean_tax_identity

from .services.purchases import PurchaseError, credit_limits, validate_credits

# Thousands separators a person types or pastes ("5.000", "5,000", "5 000"): the amount is the digits.
_SEPARATORS = re.compile(r"[\s.,_\u00a0]")


class CreditsField(forms.IntegerField):
    """A number of credits as people write it (separators allowed), checked by validate_credits only, so
    every error is one of its messages (never Django's "less than or equal to 10000000")."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "error_messages",
            {
                "required": _("Choose a number of credits in multiples of 1,000."),
                "invalid": _("Credits must be a positive multiple of 1,000."),
            },
        )
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    def widget_attrs(self, widget):
        return {}  # no min/max/step attributes: the browser would answer in its own words

    def to_python(self, value):
        if isinstance(value, str):
            value = _SEPARATORS.sub("", value)
        return super().to_python(value)

    def clean(self, value):
        value = super().clean(value)
        try:
            return validate_credits(value)
        except PurchaseError as exc:
            raise forms.ValidationError(str(exc), code="invalid_credits") from exc


def _limits_help():
    return credit_limits()["help"]


def _auto_topup_help():
    return f"{_limits_help()} {_('You pay it like any top-up, by transfer, QRIS or e-wallet.')}"


class ChooseCreditsForm(forms.Form):
    credits = CreditsField(label=_("Credits"), help_text=lazy(_limits_help, str)())


class CheckoutForm(forms.Form):
    """The summary page's form. ``idempotency_key`` ties a double click or a second tab to one purchase."""

    credits = CreditsField(widget=forms.HiddenInput)
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    legal_name = forms.CharField(label=_("Company (legal name)"), max_length=200, required=False)
    tax_document_type = forms.ChoiceField(
        label=_("Tax identity"), choices=DOCUMENT_TYPES, initial=DOCUMENT_TIN, required=False
    )
    npwp = forms.CharField(label=_("NPWP (tax ID)"), max_length=32, required=False)
    nitku = forms.CharField(
        label=_("NITKU"),
        max_length=32,
        required=False,
        help_text=_("22 digits: NPWP + place of business code. Empty means the head office (000000)."),
    )
    tax_document_number = forms.CharField(
        label=_("NIK / passport / ID number"), max_length=32, required=False, help_text=_("Only without NPWP.")
    )
    address = forms.CharField(
        label=_("Billing address"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_billing_address],
    )
    email = forms.EmailField(label=_("Invoice e-mail"), required=False)
    save_details = forms.BooleanField(
        label=_("Also save these details for future invoices"), required=False, initial=False
    )

    def clean(self):
        data = super().clean() or {}
        try:
            identity = clean_tax_identity(
                document_type=data.get("tax_document_type") or DOCUMENT_TIN,
                npwp=data.get("npwp", ""),
                document_number=data.get("tax_document_number", ""),
                nitku=data.get("nitku", ""),
            )
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                for error in errors:
                    self.add_error(field, error)
            return data
        data.update(
            tax_document_type=identity["document_type"],
            npwp=identity["npwp"],
            nitku=identity["nitku"],
            tax_document_number=identity["document_number"],
        )
        return data

    def billing(self) -> dict:
        data = self.cleaned_data
        return {
            "legal_name": data["legal_name"],
            "npwp": data["npwp"],
            "address": data["address"],
            "email": data["email"],
            "document_type": data["tax_document_type"],
            "document_number": data["tax_document_number"],
            "nitku": data["nitku"],
        }


class AutoTopUpForm(forms.Form):
    enabled = forms.BooleanField(label=_("Turn on auto top-up"), required=False)
    threshold = forms.IntegerField(
        label=_("When my balance falls below (credits)"),
        min_value=1,
        max_value=100_000_000,
        initial=1000,
        help_text=_("From 1 to 100.000.000 credits."),
        error_messages={
            key: _("Choose a threshold from 1 to 100.000.000 credits.")
            for key in ("required", "invalid", "min_value", "max_value")
        },
    )
    credits = CreditsField(
        label=_("Prepare a top-up of (credits)"),
        initial=10000,
        help_text=lazy(_auto_topup_help, str)(),
    )
