from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

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
        fields = ["name", "legal_name", "npwp", "address", "invoice_email", "low_balance_threshold"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "npwp": _("15 or 16 digits, printed on your invoices."),
            "low_balance_threshold": _("We e-mail the owners when the balance falls below this."),
        }

    def clean_address(self):
        address = self.cleaned_data["address"].strip()
        validate_billing_address(address)
        return address

    def clean_npwp(self):
        npwp = self.cleaned_data["npwp"].strip()
        digits = "".join(ch for ch in npwp if ch.isdigit())
        if npwp and len(digits) not in (15, 16):
            raise forms.ValidationError(_("An NPWP has 15 or 16 digits."))
        return npwp


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
