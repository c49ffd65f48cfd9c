from django import forms
from django.utils.translation import gettext_lazy as _

from .types import EVENT_TYPE_CHOICES


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=_("Endpoint URL"), max_length=500, assume_scheme="https", help_text=_("Where Saldo POSTs signed events.")
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=EVENT_TYPE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: every event, including types added later."),
    )
