"""The WhatsApp conversations page: a month's totals per category, a chart per day and the list."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.decorators import organization_required

from . import selectors
from .models import Category

PAGE_SIZE = 25
CATEGORY_COLOURS: dict[str, str] = {
    Category.MARKETING: "#0f766e",
    Category.UTILITY: "#5eead4",
    Category.AUTHENTICATION: "#f59e0b",
    Category.SERVICE: "#94a3b8",
}


@organization_required
def conversation_list(request):
    organization = request.organization
    current = selectors.current_month()
    month = selectors.parse_month(request.GET.get("month")) or current
    summary = selectors.month_summary(organization=organization, month=month)
    days = selectors.daily_totals(organization=organization, month=month)
    statement = selectors.statement_for(organization=organization, month=month)
    page = Paginator(selectors.conversations_for(organization=organization, month=month), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    labels = dict(Category.choices)
    categories = [
        {"key": key, "label": labels[key], **totals, "count": totals["billable"] + totals["free"]}
        for key, totals in summary["categories"].items()
    ]
    chart = {
        "labels": [f"{d['day']:%d}" for d in days],
        "datasets": [
            {
                "label": str(labels[c]),
                "data": [d[c]["amount"] for d in days],
                "counts": [d[c]["count"] for d in days],
                "color": CATEGORY_COLOURS[c],
            }
            for c in Category.values
        ],
        "currency_label": _("Rupiah"),
    }
    # The chart's text alternative: one row per day with a day's amount per category.
    chart_rows = [
        (d["day"], [d[c]["amount"] for c in Category.values], sum(d[c]["amount"] for c in Category.values))
        for d in days
        if any(d[c]["count"] for c in Category.values)
    ]
    months = selectors.months_for(organization=organization)
    if month not in months:
        months = sorted([*months, month], reverse=True)
    context = {
        "month": month,
        "months": months,
        "is_current": month == current,
        "is_future": month > current,
        "previous_month": selectors.previous_month(month),
        "next_month": selectors.next_month(month) if month < current else None,
        "summary": summary,
        "categories": categories,
        "total_count": sum(c["count"] for c in categories),
        "chart": chart,
        "chart_columns": [labels[c] for c in Category.values],
        "chart_rows": chart_rows,
        "has_chart": any(c["count"] for c in categories),
        "page": page,
        "statement": statement,
        "late": statement is not None
        and selectors.conversations_for(organization=organization, month=month).exclude(statement=statement).exists(),
        "numbers": organization.whatsapp_numbers.order_by("display_number"),
    }
    return render(request, "conversations/index.html", context)
