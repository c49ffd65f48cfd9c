"""Admin for invoices: find (status, kind, month, search by number/organization/NPWP), download, resend,
void with a reason, credit-note a paid invoice, and a streamed CSV export for the accountant.

Invoices are legal documents: nothing here edits one. Every change goes through a service."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Min
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.money import format_rupiah
from core.months import Month

from .api import pdf_response
from .efaktur import EfakturError, efaktur_xml, exportable
from .efaktur.djp_export import DjpExportError, parse_djp_export
from .models import EfakturSettings, Invoice, InvoiceLine, InvoiceNumberCounter, InvoiceReminder, TaxRule
from .selectors import JAKARTA, _month_bounds
from .services import (
    InvoiceError,
    invoice_credit_note_by_staff,
    invoice_pdf_bytes,
    invoice_record_nsfp,
    invoice_record_nsfp_batch,
    invoice_resend_by_staff,
    invoice_void_by_staff,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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
    # The tax breakdown for the accountant (docs/tax.md).
    ("tax_date", _("Tax date")),
    ("tax_base", _("DPP")),
    ("other_tax_base", _("DPP Nilai Lain")),
    ("tax_rate", _("PPN rate (%)")),
    ("tax_trx_code", _("Transaction code")),
    ("buyer_document_type", _("Buyer document")),
    ("buyer_document_number", _("Buyer NIK / passport / ID")),
    ("buyer_nitku", _("Buyer NITKU")),
    ("seller_npwp", _("Seller NPWP")),
    ("seller_nitku", _("Seller NITKU")),
    ("nsfp", _("Faktur Pajak number (NSFP)")),
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
        y, m = now.year, now.month
        out: list[tuple[str, str]] = []
        while (y, m) >= (first.year, first.month) and len(out) < 36:
            out.append((f"{y:04d}-{m:02d}", date(y, m, 1).strftime("%b %Y")))
            y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        return out

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        try:
            parsed = datetime.strptime(value, "%Y-%m")
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
    fields = readonly_fields = ("position", "description", "quantity", "unit_price", "amount", "tax_rate", "tax")

    def has_add_permission(self, request, obj=None):
        return False


class InvoiceReminderInline(admin.TabularInline):
    """The reminders sent for a statement (due soon, due today, overdue): one of each kind at most."""

    model = InvoiceReminder
    extra = 0
    can_delete = False
    fields = readonly_fields = ("kind", "sent_at", "recipients")

    def has_add_permission(self, request, obj=None):
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)


class NsfpForm(forms.Form):
    nsfp = forms.CharField(
        label=_("Faktur Pajak number (NSFP)"), max_length=40, help_text=_("As DJP gave it, e.g. 04002500000012345.")
    )
    reason = forms.CharField(label=_("Note"), required=False, max_length=2000)


class NsfpUploadForm(forms.Form):
    file = forms.FileField(
        label=_("DJP export (CSV)"),
        help_text=_("Columns: the reference (our invoice number) and the Faktur Pajak number (Nomor Faktur Pajak)."),
    )


class EfakturMonthForm(forms.Form):
    month = forms.CharField(label=_("Tax month (YYYY-MM)"), max_length=7)

    def clean_month(self):
        month = Month.parse(self.cleaned_data["month"])
        if month is None:
            raise forms.ValidationError(_("Use YYYY-MM."))
        return month


def efaktur_response(invoices, filename: str) -> HttpResponse:
    response = HttpResponse(efaktur_xml(invoices), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
        "nsfp",
    ]
    list_select_related = ["organization"]
    ordering = ["-created_at"]
    inlines = [InvoiceLineInline, InvoiceReminderInline]
    actions = [
        "download_pdf",
        "resend_email",
        "void_invoices",
        "credit_note_invoices",
        "export_csv",
        "export_efaktur",
        "record_nsfp",
    ]
    change_list_template = "admin/invoices/invoice/change_list.html"
    fieldsets = [
        (None, {"fields": ["number", "organization_link", "kind", "status", "reference", "corrects_link", "pdf_link"]}),
        (_("Dates"), {"fields": ["created_at", "issued_at", "due_at", "paid_at", "voided_at", "void_reason"]}),
        (_("Money"), {"fields": ["currency", "subtotal", "tax", "total", "payment_reference"]}),
        (
            _("Tax (frozen at creation)"),
            {
                "fields": [
                    "tax_date",
                    "tax_rule",
                    "tax_rate",
                    "tax_base_kind",
                    "tax_base",
                    "other_tax_base",
                    "tax_trx_code",
                    "nsfp",
                    "nsfp_recorded_at",
                ]
            },
        ),
        (
            _("Buyer (frozen at creation)"),
            {
                "fields": [
                    "buyer_name",
                    "buyer_legal_name",
                    "buyer_npwp",
                    "buyer_nitku",
                    "buyer_document_type",
                    "buyer_document_number",
                    "buyer_country",
                    "buyer_address",
                    "buyer_email",
                ]
            },
        ),
        (_("Seller"), {"fields": ["seller_name", "seller_npwp", "seller_nitku", "seller_address", "seller_email"]}),
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
        urls = super().get_urls()
        custom = [
            path("<uuid:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="invoices_invoice_pdf"),
            path("efaktur/", self.admin_site.admin_view(self.efaktur_month_view), name="invoices_invoice_efaktur"),
            path(
                "nsfp-upload/", self.admin_site.admin_view(self.nsfp_upload_view), name="invoices_invoice_nsfp_upload"
            ),
        ]
        return custom + urls

    def pdf_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=pk)
        return pdf_response(invoice, invoice_pdf_bytes(invoice=invoice))

    def _tax_form_page(self, request, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            **context,
        }
        return TemplateResponse(request, "invoices/invoice_admin_tax_form.html", context)

    def efaktur_month_view(self, request):
        """One e-Faktur XML of every tax invoice whose tax date falls in a month."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = EfakturMonthForm(request.GET or None)
        if request.GET and form.is_valid():
            month = form.cleaned_data["month"]
            invoices = exportable(
                Invoice.objects.filter(tax_date__gte=month.first_day, tax_date__lt=month.next().first_day)
            )
            try:
                return efaktur_response(invoices, f"efaktur-{month}.xml")
            except EfakturError as exc:
                form.add_error(None, str(exc))
        return self._tax_form_page(
            request,
            title=_("Export e-Faktur (Coretax XML) for a month"),
            intro=_(
                "Issued and paid invoices whose tax date is in the month, one TaxInvoiceBulk file to import in Coretax."
            ),
            form=form,
            method="get",
            submit=_("Download XML"),
        )

    def nsfp_upload_view(self, request):
        """Record the Faktur Pajak numbers of DJP's export, matched by our invoice number (RefDesc)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = NsfpUploadForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = parse_djp_export(upload.read(5_000_001)[:5_000_000])
                result = invoice_record_nsfp_batch(rows=rows, actor=request.user, filename=upload.name)
            except (DjpExportError, InvoiceError) as exc:
                form.add_error("file", str(exc))
        return self._tax_form_page(
            request,
            title=_("Record Faktur Pajak numbers from DJP's export"),
            intro=_("Each row's reference is our invoice number; its Faktur Pajak number is recorded (audited)."),
            form=form,
            result=result,
            submit=_("Upload"),
        )

    # --- actions ------------------------------------------------------------------------------------------

    @admin.action(description=_("Export e-Faktur XML for Coretax"), permissions=["view"])
    def export_efaktur(self, request, queryset):
        try:
            return efaktur_response(exportable(queryset), f"efaktur-{timezone.now():%Y%m%d-%H%M}.xml")
        except EfakturError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None

    @admin.action(description=_("Record the Faktur Pajak number (NSFP)"), permissions=["change"])
    def record_nsfp(self, request, queryset):
        invoices = list(queryset[:2])
        if len(invoices) != 1:
            self.message_user(request, _("Select one invoice (or upload DJP's export for many)."), messages.WARNING)
            return None
        invoice = invoices[0]
        form = NsfpForm(request.POST if request.POST.get("apply") else None, initial={"nsfp": invoice.nsfp})
        if request.POST.get("apply") and form.is_valid():
            try:
                invoice_record_nsfp(
                    invoice=invoice,
                    nsfp=form.cleaned_data["nsfp"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except InvoiceError as exc:
                form.add_error("nsfp", str(exc))
            else:
                self.message_user(
                    request, _("Faktur Pajak number recorded on %(n)s.") % {"n": invoice}, messages.SUCCESS
                )
                return None
        return self._tax_form_page(
            request,
            title=_("Record the Faktur Pajak number"),
            invoices=[invoice],
            form=form,
            action="record_nsfp",
        )

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

    def _reason_action(self, request, queryset, *, action: str, title: StrOrPromise, service, ok_message: StrOrPromise):
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
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
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
                        invoice.tax_date.isoformat() if invoice.tax_date else "",
                        invoice.tax_base,
                        f"{invoice.other_tax_base:.2f}",
                        invoice.tax_percent,
                        invoice.tax_trx_code,
                        invoice.buyer_document_type,
                        invoice.buyer_document_number,
                        invoice.buyer_nitku,
                        invoice.seller_npwp,
                        invoice.seller_nitku,
                        invoice.nsfp,
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="invoices-{timezone.now():%Y%m%d-%H%M}.csv"'
        return response


@admin.register(TaxRule)
class TaxRuleAdmin(admin.ModelAdmin):
    """PPN rules with effective dates. Editing one changes the invoices created afterwards only: each invoice
    keeps the terms it was created with. ``TaxRule.clean`` refuses overlapping periods."""

    list_display = ["name", "valid_from", "valid_to", "rate", "base_kind", "factor_display", "trx_code"]
    ordering = ["-valid_from"]
    fields = [
        "name",
        "valid_from",
        "valid_to",
        "rate",
        "base_kind",
        "other_base_numerator",
        "other_base_denominator",
        "trx_code",
    ]

    @admin.display(description=_("DPP Nilai Lain"))
    def factor_display(self, obj):
        if obj.base_kind != "dpp_nilai_lain":
            return "—"
        return f"{obj.other_base_numerator}/{obj.other_base_denominator} × DPP"


@admin.register(EfakturSettings)
class EfakturSettingsAdmin(admin.ModelAdmin):
    """The codes every e-Faktur line carries (one row)."""

    list_display = ["__str__", "service_code", "unit_code", "updated_at"]
    fields = ["service_code", "unit_code"]

    def has_add_permission(self, request):
        return not EfakturSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


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
