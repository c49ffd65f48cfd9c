"""``{% webhooks_settings_card organization membership %}``: the webhook endpoints section of /settings/ (accounts
sits below events and cannot import it)."""

from django import template

from ..selectors import endpoints_for

register = template.Library()


@register.inclusion_tag("events/_settings_card.html")
def webhooks_settings_card(organization, membership):
    can_manage = bool(membership and membership.can_manage_billing)
    endpoints = list(endpoints_for(organization)) if organization is not None and can_manage else []
    return {"endpoints": endpoints, "can_manage": can_manage}
