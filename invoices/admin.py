"""Admin for invoices: find (status, kind, month, search by number/organization/NPWP), download, resend,
void with a reason, credit-note a paid invoice, and a streamed CSV export for the accountant.

Invoices are legal documents: nothing here edits one. Every change goes through a service."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

from django import forms
from django.contrib import admin, messages
from django.db.models import Min
from django.http import HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .api import pdf_response
from .models import Invoice, InvoiceLine, InvoiceNumberCounter, InvoiceReminder
from .selectors import JAKARTA, _month_bounds
from .services import (
    InvoiceError,
    invoice_credit_note_by_staff,
    invoice_pdf_bytes,
    invoice_resend_by_staff,
    invoice_void_by_staff,
)

CSV_COLUMNS = [
    ("number", _("Number")),
    ("kind", _("Kind")),
    ("status", _("Status")),
    ("issued_at", _("Issued (WIB)")),
    ("due_at", _("Due (WIB)")),
    ("paid_at", _("Paid (WIB)")),
    ("voided_at", _("Voided (WIB)")),
    ("organization", _("Organization")),
    ("buyer_name", _("Buyer")),
    ("buyer_npwp", _("Buyer NPWP")),
    ("buyer_address", _("Buyer address")),
    ("buyer_email", _("Invoice e-mail")),
    ("currency", _("Currency")),
    ("subtotal", _("Subtotal (DPP)")),
    ("tax", _("PPN")),
    ("total", _("Total")),
    ("payment_reference", _("Payment reference")),
    ("reference", _("Reference")),
    ("corrects", _("Corrects")),
    ("void_reason", _("Void / credit reason")),
]


class MonthFilter(admin.SimpleListFilter):
    """Issue month in Asia/Jakarta, newest first."""

    title = _("issue month")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        first = Invoice.objects.filter(issued_at__isnull=False).aggregate(first=Min("issued_at"))["first"]
        if first is None:
            return []
        first = timezone.localtime(first, JAKARTA)
        now = timezone.localtime(timezone.now(), JAKARTA)
        y, m, out = now.year, now.month, []
        while (y, m) >= (first.year, first.month) and len(out) < 36:
            out.append((f"{y:04d}-{m:02d}", date(y, m, 1).strftime("%b %Y")))
            y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        return out

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            parsed = datetime.strptime(self.value(), "%Y-%m")
        except ValueError:
            return queryset.none()
        start, end = _month_bounds(date(parsed.year, parsed.month, 1))
        return queryset.filter(issued_at__gte=start, issued_at__lt=end)


class PaymentStateFilter(admin.SimpleListFilter):
    """Where an unpaid invoice stands: overdue (issued, past its due date), due (issued, not yet due), or an
    open payment request (unnumbered, waiting for its payment)."""

    title = _("payment")
    parameter_name = "payment"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("due", _("Unpaid, not yet due")), ("request", _("Payment request"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        unpaid = queryset.filter(status=Invoice.Status.ISSUED).exclude(kind=Invoice.Kind.CREDIT_NOTE)
        if self.value() == "overdue":
            return unpaid.filter(due_at__lt=now)
        if self.value() == "due":
            return unpaid.exclude(due_at__lt=now)
        if self.value() == "request":
            return queryset.filter(status=Invoice.Status.REQUEST)
        return queryset


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ["position", "description", "quantity", "unit_price", "amount", "tax_rate", "tax"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class InvoiceReminderInline(admin.TabularInline):
    """The reminders sent for a statement (due soon, due today, overdue): one of each kind at most."""

    model = InvoiceReminder
    extra = 0
    can_delete = False
    fields = ["kind", "sent_at", "recipients"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)


def _local(dt):
    return timezone.localtime(dt, JAKARTA).strftime("%Y-%m-%d %H:%M") if dt else ""


class _Echo:
    def write(self, value):
        return value


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "number_or_draft",
        "organization_link",
        "kind",
        "status_badge",
        "total_rupiah",
        "issued_at",
        "paid_at",
        "emailed",
    ]
    list_filter = ["status", PaymentStateFilter, "kind", MonthFilter]
    search_fields = [
        "number",
        "organization__name",
        "organization__slug",
        "buyer_name",
        "buyer_legal_name",
        "buyer_npwp",
        "payment_reference",
        "reference",
    ]
    list_select_related = ["organization"]
    ordering = ["-created_at"]
    inlines = [InvoiceLineInline, InvoiceReminderInline]
    actions = ["download_pdf", "resend_email", "void_invoices", "credit_note_invoices", "export_csv"]
    fieldsets = [
        (None, {"fields": ["number", "organization_link", "kind", "status", "reference", "corrects_link", "pdf_link"]}),
        (_("Dates"), {"fields": ["created_at", "issued_at", "due_at", "paid_at", "voided_at", "void_reason"]}),
        (_("Money"), {"fields": ["currency", "subtotal", "tax", "total", "payment_reference"]}),
        (
            _("Buyer (frozen at creation)"),
            {"fields": ["buyer_name", "buyer_legal_name", "buyer_npwp", "buyer_address", "buyer_email"]},
        ),
        (_("Seller"), {"fields": ["seller_name", "seller_npwp", "seller_address", "seller_email"]}),
        (_("Delivery"), {"fields": ["pdf_status", "pdf_rendered_at", "emailed_at", "email_attempts", "email_error"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [f for fs in self.fieldsets for f in fs[1]["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- columns ---------------------------------------------------------------------------------------

    @admin.display(description=_("number"), ordering="number")
    def number_or_draft(self, obj):
        if obj.number:
            return obj.number
        return _("(payment request)") if obj.is_request else _("(draft)")

    @admin.display(description=_("organization"), ordering="organization__name")
    def organization_link(self, obj):
        url = reverse("admin:accounts_organization_change", args=[obj.organization_id])
        return format_html('<a href="{}">{}</a>', url, obj.organization.name)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        colors = {"paid": "#15803d", "issued": "#b45309", "void": "#b91c1c", "draft": "#64748b", "closed": "#64748b"}
        badge = format_html('<b style="color:{}">{}</b>', colors.get(obj.status, "#334155"), obj.get_status_display())
        if obj.is_overdue and not obj.is_credit_note:
            return format_html('{} <b style="color:#b91c1c">· {}</b>', badge, _("Overdue"))
        return badge

    @admin.display(description=_("total"), ordering="total")
    def total_rupiah(self, obj):
        from core.money import format_rupiah

        return format_rupiah(obj.total)

    @admin.display(description=_("e-mailed"), boolean=True)
    def emailed(self, obj):
        if obj.status != Invoice.Status.PAID:
            return None
        return obj.emailed_at is not None

    @admin.display(description=_("corrects"))
    def corrects_link(self, obj):
        if obj.corrects_id is None:
            return "—"
        url = reverse("admin:invoices_invoice_change", args=[obj.corrects_id])
        return format_html('<a href="{}">{}</a>', url, obj.corrects)

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        if obj.status == Invoice.Status.DRAFT:
            return "—"
        url = reverse("admin:invoices_invoice_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.pdf_filename)

    # --- extra URL: one PDF -------------------------------------------------------------------------------

    def get_urls(self):
        from django.urls import path

        urls = super().get_urls()
        custom = [
            path("<uuid:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="invoices_invoice_pdf"),
        ]
        return custom + urls

    def pdf_view(self, request, pk):
        from django.shortcuts import get_object_or_404

        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=pk)
        return pdf_response(invoice, invoice_pdf_bytes(invoice=invoice))

    # --- actions ------------------------------------------------------------------------------------------

    @admin.action(description=_("Download PDF (one, or a zip of several)"), permissions=["view"])
    def download_pdf(self, request, queryset):
        invoices = list(queryset.exclude(status=Invoice.Status.DRAFT)[:500])
        if not invoices:
            self.message_user(request, _("Drafts have no PDF."), messages.WARNING)
            return None
        if len(invoices) == 1:
            return pdf_response(invoices[0], invoice_pdf_bytes(invoice=invoices[0]))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for invoice in invoices:
                archive.writestr(invoice.pdf_filename, invoice_pdf_bytes(invoice=invoice))
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="invoices-{timezone.now():%Y%m%d-%H%M}.zip"'
        return response

    @admin.action(description=_("Resend the invoice e-mail (with a reason)"), permissions=["change"])
    def resend_email(self, request, queryset):
        return self._reason_action(
            request,
            queryset,
            action="resend_email",
            title=_("Resend invoice e-mails"),
            service=invoice_resend_by_staff,
            ok_message=_("%(n)d e-mail(s) queued."),
        )

    def _reason_action(self, request, queryset, *, action: str, title: str, service, ok_message: str):
        form = ReasonForm(request.POST if request.POST.get("apply") else None)
        if request.POST.get("apply") and form.is_valid():
            done, errors = 0, []
            for invoice in queryset:
                try:
                    service(invoice=invoice, reason=form.cleaned_data["reason"], actor=request.user)
                    done += 1
                except InvoiceError as exc:
                    errors.append(f"{invoice}: {exc}")
            if done:
                self.message_user(request, ok_message % {"n": done}, messages.SUCCESS)
            for error in errors:
                self.message_user(request, error, messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "invoices": queryset,
            "form": form,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "invoices/invoice_admin_reason.html", context)

    @admin.action(description=_("Void unpaid invoices (with a reason)"), permissions=["change"])
    def void_invoices(self, request, queryset):
        return self._reason_action(
            request,
            queryset,
            action="void_invoices",
            title=_("Void invoices"),
            service=invoice_void_by_staff,
            ok_message=_("%(n)d invoice(s) voided."),
        )

    @admin.action(description=_("Credit-note paid invoices (with a reason)"), permissions=["change"])
    def credit_note_invoices(self, request, queryset):
        return self._reason_action(
            request,
            queryset,
            action="credit_note_invoices",
            title=_("Issue credit notes"),
            service=invoice_credit_note_by_staff,
            ok_message=_("%(n)d credit note(s) issued."),
        )

    @admin.action(description=_("Export CSV for the accountant"), permissions=["view"])
    def export_csv(self, request, queryset):
        writer = csv.writer(_Echo())
        qs = (
            queryset.exclude(status__in=Invoice.UNNUMBERED)
            .select_related("organization", "corrects")
            .order_by("issued_at", "number")
        )

        def rows():
            yield "\ufeff"  # so spreadsheet software reads UTF-8
            yield writer.writerow([str(label) for _key, label in CSV_COLUMNS])
            for invoice in qs.iterator(chunk_size=1000):
                yield writer.writerow(
                    [
                        invoice.number,
                        invoice.kind,
                        invoice.status,
                        _local(invoice.issued_at),
                        _local(invoice.due_at),
                        _local(invoice.paid_at),
                        _local(invoice.voided_at),
                        invoice.organization.name,
                        invoice.buyer_display_name,
                        invoice.buyer_npwp,
                        invoice.buyer_address.replace("\n", ", "),
                        invoice.buyer_email,
                        invoice.currency,
                        invoice.subtotal,
                        invoice.tax,
                        invoice.total,
                        invoice.payment_reference,
                        invoice.reference,
                        invoice.corrects.number if invoice.corrects_id else "",
                        invoice.void_reason,
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="invoices-{timezone.now():%Y%m%d-%H%M}.csv"'
        return response


@admin.register(InvoiceNumberCounter)
class InvoiceNumberCounterAdmin(admin.ModelAdmin):
    list_display = ["series", "year", "month", "last_number"]
    list_filter = ["series", "year"]
    ordering = ["-year", "-month", "series"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
