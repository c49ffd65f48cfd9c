from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization


class CreditAdjustForm(forms.Form):
    """Staff grant (a bonus lot with its own expiry) or adjustment (positive or negative). Reason required."""

    GRANT = "grant"
    ADJUST = "adjust"

    organization = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"), label=_("Organization"))
    kind = forms.ChoiceField(
        label=_("Action"),
        choices=[
            (GRANT, _("Grant bonus credits (new lot)")),
            (ADJUST, _("Adjustment (+ adds a lot, − takes credits)")),
        ],
        initial=GRANT,
    )
    credits = forms.IntegerField(label=_("Credits"), help_text=_("Positive to add; negative only for adjustments."))
    valid_days = forms.IntegerField(
        label=_("Valid for (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("For new lots. Empty: the standard validity."),
    )
    reference = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=200,
        help_text=_("Optional ticket or document number. The same reference grants only once."),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason

    def clean(self):
        data = super().clean() or {}
        credits = data.get("credits")
        if credits is not None:
            if credits == 0:
                self.add_error("credits", _("Credits may not be zero."))
            elif credits < 0 and data.get("kind") == self.GRANT:
                self.add_error("credits", _("A grant adds credits; use an adjustment to take credits away."))
        return data
