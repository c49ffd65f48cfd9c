"""Forms of the top-up flow: choose credits, then confirm the summary with billing details."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.validators import validate_billing_address
from core.tax_ids import DOCUMENT_TIN, DOCUMENT_TYPES, clean_tax_identity

from .selectors.purchases import CREDIT_STEP, MAX_CREDITS
from .services.purchases import PurchaseError, validate_credits


class CreditsField(forms.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", CREDIT_STEP)
        kwargs.setdefault("max_value", MAX_CREDITS)
        super().__init__(**kwargs)
        self.widget.attrs.update({"step": CREDIT_STEP, "inputmode": "numeric"})

    def clean(self, value):
        value = super().clean(value)
        try:
            return validate_credits(value)
        except PurchaseError as exc:
            raise forms.ValidationError(str(exc), code="invalid_credits") from exc


class ChooseCreditsForm(forms.Form):
    credits = CreditsField(label=_("Credits"), help_text=_("Multiples of 1,000."))


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
        data = super().clean()
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
        label=_("When my balance falls below (credits)"), min_value=1, max_value=100_000_000, initial=1000
    )
    credits = forms.IntegerField(
        label=_("Prepare a top-up of (credits)"),
        min_value=1000,
        max_value=MAX_CREDITS,
        step_size=1000,
        initial=10000,
        help_text=_("In multiples of 1,000. You pay it like any top-up, by transfer, QRIS or e-wallet."),
    )
