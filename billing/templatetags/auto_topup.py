"""``{% auto_topup_notice organization %}``: the open auto top-up purchase, with its Pay button, for pages
of apps below billing (the credits dashboard) that cannot import it."""

from django import template

from ..models.auto_topup import AutoTopUp
from ..services.auto_topup import auto_topup_open_purchase

register = template.Library()


@register.inclusion_tag("billing/_auto_topup_notice.html")
def auto_topup_notice(organization):
    purchase = auto_topup_open_purchase(organization) if organization is not None else None
    return {"purchase": purchase, "session": purchase.sessions.order_by("-created_at").first() if purchase else None}


@register.inclusion_tag("billing/_auto_topup_settings_card.html")
def auto_topup_settings_card(organization, membership):
    rule = AutoTopUp.objects.filter(organization=organization).first() if organization is not None else None
    return {"rule": rule, "is_owner": getattr(membership, "role", "") == "owner"}
