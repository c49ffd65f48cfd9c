from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.tax_ids import clean_tax_identity

from .models import Membership, Organization, User
from .validators import validate_billing_address


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class SignupForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Work e-mail"))
    organization_name = forms.CharField(label=_("Business name"), max_length=200)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail already exists. Log in instead."))
        return email

    def clean(self):
        data = super().clean() or {}
        if data.get("password"):
            user = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(data["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class BillingDetailsForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "legal_name",
            "tax_document_type",
            "npwp",
            "nitku",
            "tax_document_number",
            "tax_country",
            "address",
            "invoice_email",
            "low_balance_threshold",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "npwp": _("16 digits (a 15-digit NPWP is converted by adding a 0 in front), printed on your invoices."),
            "tax_document_type": _("A company: NPWP. An individual without NPWP: NIK. A foreign buyer: passport."),
            "tax_document_number": _("Only for NIK, passport or other ID."),
            "tax_country": _("IDN for Indonesia; for a passport, the issuing country (e.g. SGP)."),
            "low_balance_threshold": _("We e-mail the owners when the balance falls below this."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A form that does not send them (older pages, API clients of the settings page) keeps the defaults.
        self.fields["tax_document_type"].required = False
        self.fields["tax_country"].required = False

    def clean_address(self):
        address = self.cleaned_data["address"].strip()
        validate_billing_address(address)
        return address

    def clean_tax_document_type(self):
        return self.cleaned_data["tax_document_type"] or "TIN"

    def clean_tax_country(self):
        country = (self.cleaned_data["tax_country"] or "IDN").strip().upper()
        if len(country) != 3 or not country.isalpha():
            raise forms.ValidationError(_("Use the 3-letter country code (IDN, SGP, ...)."))
        return country

    def clean(self):
        return clean_tax_identity_fields(self, super().clean())


def clean_tax_identity_fields(form: forms.BaseForm, data: dict | None) -> dict:
    """The organization's tax identity in ``data`` checked by ``core.tax_ids`` (the one rule for the settings
    page and the staff form) and written back normalised; errors go on their field, or the form when it has none."""
    data = data if data is not None else {}
    try:
        identity = clean_tax_identity(
            document_type=data.get("tax_document_type", ""),
            npwp=data.get("npwp", ""),
            document_number=data.get("tax_document_number", ""),
            nitku=data.get("nitku", ""),
        )
    except ValidationError as exc:
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return data
    data.update(npwp=identity["npwp"], nitku=identity["nitku"], tax_document_number=identity["document_number"])
    return data


class LanguageForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["language"]
        help_texts = {"language": _("Used for these pages and for every e-mail Saldo sends you.")}


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Key name"), max_length=100, initial="production")
