"""Invoices move from billing to their own app without touching a row: the three tables (and their id sequences,
constraint and index names) are renamed, and their content types follow, so staff permissions, group rights and
admin history keep pointing at them. billing 0007 then forgets the models in its state."""

import uuid

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models

import invoices.models

TABLES = ["invoice", "invoiceline", "invoicenumbercounter"]


def _rename_sql(old: str, new: str) -> str:
    """Rename the tables, then every sequence, index and constraint whose name starts with ``<old>_invoice``
    (renaming a unique or primary key index renames its constraint too)."""
    tables = "\n".join(f"ALTER TABLE {old}_{t} RENAME TO {new}_{t};" for t in TABLES)
    prefix = f"{old}\\_invoice%"
    return f"""{tables}
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind IN ('S', 'i') AND c.relname LIKE '{prefix}'
  LOOP
    EXECUTE format('ALTER %s %I RENAME TO %I', CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'INDEX' END,
                   r.relname, '{new}' || substr(r.relname, {len(old) + 1}));
  END LOOP;
  FOR r IN SELECT con.conname, rel.relname FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
           JOIN pg_namespace n ON n.oid = rel.relnamespace
           WHERE n.nspname = current_schema() AND con.contype IN ('f', 'c') AND con.conname LIKE '{prefix}'
  LOOP
    EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I',
                   r.relname, r.conname, '{new}' || substr(r.conname, {len(old) + 1}));
  END LOOP;
END $$;"""


def move_content_types(apps, schema_editor, old="billing", new="invoices"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in TABLES:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, old="invoices", new="billing")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0007_jobheartbeat_moves_to_console"),
        ("billing", "0006_invoice_created_index"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(_rename_sql("billing", "invoices"), _rename_sql("invoices", "billing")),
            ],
            state_operations=[
                migrations.CreateModel(
                    name='Invoice',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(choices=[('purchase', 'Credit purchase'), ('statement', 'Monthly WhatsApp statement'), ('credit_note', 'Credit note')], default='purchase', max_length=16, verbose_name='kind')),
                        ('status', models.CharField(choices=[('draft', 'Draft'), ('issued', 'Unpaid'), ('paid', 'Paid'), ('void', 'Void')], default='draft', max_length=10, verbose_name='status')),
                        ('number', models.CharField(blank=True, max_length=32, null=True, unique=True, verbose_name='number')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                        ('issued_at', models.DateTimeField(blank=True, null=True, verbose_name='issued at')),
                        ('due_at', models.DateTimeField(blank=True, null=True, verbose_name='due at')),
                        ('paid_at', models.DateTimeField(blank=True, null=True, verbose_name='paid at')),
                        ('voided_at', models.DateTimeField(blank=True, null=True, verbose_name='voided at')),
                        ('void_reason', models.TextField(blank=True, verbose_name='void reason')),
                        ('payment_reference', models.CharField(blank=True, max_length=128, verbose_name='payment reference')),
                        ('subtotal', models.BigIntegerField(default=0, verbose_name='subtotal (Rp)')),
                        ('tax', models.BigIntegerField(default=0, verbose_name='tax / PPN (Rp)')),
                        ('total', models.BigIntegerField(default=0, verbose_name='total (Rp)')),
                        ('currency', models.CharField(default='IDR', max_length=3, verbose_name='currency')),
                        ('buyer_name', models.CharField(max_length=200, verbose_name='buyer name')),
                        ('buyer_legal_name', models.CharField(blank=True, max_length=200, verbose_name='buyer legal name')),
                        ('buyer_npwp', models.CharField(blank=True, max_length=32, verbose_name='buyer NPWP')),
                        ('buyer_address', models.TextField(blank=True, verbose_name='buyer address')),
                        ('buyer_email', models.EmailField(blank=True, max_length=254, verbose_name='invoice e-mail')),
                        ('seller_name', models.CharField(max_length=200, verbose_name='seller name')),
                        ('seller_npwp', models.CharField(blank=True, max_length=32, verbose_name='seller NPWP')),
                        ('seller_address', models.TextField(blank=True, verbose_name='seller address')),
                        ('seller_email', models.EmailField(blank=True, max_length=254, verbose_name='seller e-mail')),
                        ('reference', models.CharField(blank=True, db_index=True, max_length=128, verbose_name='reference')),
                        ('pdf', models.FileField(blank=True, max_length=255, upload_to=invoices.models.invoice_pdf_path, verbose_name='PDF')),
                        ('pdf_status', models.CharField(blank=True, editable=False, max_length=10)),
                        ('pdf_rendered_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('emailed_at', models.DateTimeField(blank=True, null=True, verbose_name='e-mailed at')),
                        ('email_attempts', models.PositiveIntegerField(default=0, verbose_name='e-mail attempts')),
                        ('email_error', models.TextField(blank=True, verbose_name='last e-mail error')),
                        ('corrects', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='corrections', to='invoices.invoice', verbose_name='corrects')),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='invoices', to='accounts.organization', verbose_name='organization')),
                    ],
                    options={
                        'verbose_name': 'invoice',
                        'verbose_name_plural': 'invoices',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='InvoiceLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('position', models.PositiveSmallIntegerField(default=0)),
                        ('description', models.CharField(max_length=255, verbose_name='description')),
                        ('quantity', models.BigIntegerField(verbose_name='quantity')),
                        ('unit_price', models.DecimalField(decimal_places=2, max_digits=16, verbose_name='unit price (Rp)')),
                        ('amount', models.BigIntegerField(verbose_name='amount (Rp)')),
                        ('tax_rate', models.DecimalField(decimal_places=4, max_digits=6, verbose_name='tax rate')),
                        ('tax', models.BigIntegerField(verbose_name='tax (Rp)')),
                        ('invoice', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='invoices.invoice')),
                    ],
                    options={
                        'verbose_name': 'invoice line',
                        'verbose_name_plural': 'invoice lines',
                        'ordering': ['invoice', 'position', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='InvoiceNumberCounter',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('series', models.CharField(default='INV', max_length=8)),
                        ('year', models.PositiveSmallIntegerField()),
                        ('month', models.PositiveSmallIntegerField()),
                        ('last_number', models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        'verbose_name': 'invoice number counter',
                        'verbose_name_plural': 'invoice number counters',
                        'constraints': [models.UniqueConstraint(fields=('series', 'year', 'month'), name='invoice_counter_unique_month')],
                    },
                ),
                migrations.AddIndex(
                    model_name='invoice',
                    index=models.Index(fields=['organization', '-created_at'], name='invoice_org_created_idx'),
                ),
                migrations.AddIndex(
                    model_name='invoice',
                    index=models.Index(fields=['status', 'issued_at'], name='invoice_status_issued_idx'),
                ),
                migrations.AddIndex(
                    model_name='invoice',
                    index=models.Index(condition=models.Q(('status', 'paid')), fields=['paid_at'], name='invoice_paid_at_idx'),
                ),
                migrations.AddIndex(
                    model_name='invoice',
                    index=models.Index(fields=['-created_at'], name='invoice_created_idx'),
                ),
                migrations.AddConstraint(
                    model_name='invoice',
                    constraint=models.CheckConstraint(condition=models.Q(('subtotal__gte', 0), ('tax__gte', 0), ('total__gte', 0)), name='invoice_amounts_not_negative'),
                ),
                migrations.AddConstraint(
                    model_name='invoice',
                    constraint=models.CheckConstraint(condition=models.Q(('status', 'draft'), ('number__isnull', False), _connector='OR'), name='invoice_issued_has_number'),
                ),
                migrations.AddConstraint(
                    model_name='invoice',
                    constraint=models.CheckConstraint(condition=models.Q(('total', django.db.models.expressions.CombinedExpression(models.F('subtotal'), '+', models.F('tax')))), name='invoice_total_sum'),
                ),
                migrations.AddConstraint(
                    model_name='invoiceline',
                    constraint=models.CheckConstraint(condition=models.Q(('quantity__gte', 0), ('unit_price__gte', 0), ('amount__gte', 0), ('tax__gte', 0)), name='invoice_line_not_negative'),
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
