"""``{% unpaid_statement_banner organization membership %}``: the notice on the dashboard and the
conversations page while a monthly statement is unpaid (due soon, due or overdue), with its Pay link for the
members who may pay."""

from django import template
from django.utils import timezone

from ..selectors import unpaid_statements_for

register = template.Library()


@register.inclusion_tag("invoices/_unpaid_statement_banner.html")
def unpaid_statement_banner(organization, membership=None):
    statements = list(unpaid_statements_for(organization)[:5]) if organization is not None else []
    now = timezone.now()
    return {
        "statement": statements[0] if statements else None,
        "more": max(len(statements) - 1, 0),
        "overdue": bool(statements and statements[0].due_at and statements[0].due_at < now),
        "can_pay": bool(getattr(membership, "can_manage_billing", False)),
    }
