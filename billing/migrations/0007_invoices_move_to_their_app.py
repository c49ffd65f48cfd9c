"""Invoices now belong to the invoices app (invoices 0001 renamed their tables): point the purchase's invoice at
it and forget the models here. Nothing changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_invoice_created_index"),
        ("invoices", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="purchase",
                    name="invoice",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="purchases",
                        to="invoices.invoice",
                    ),
                ),
                migrations.DeleteModel("InvoiceLine"),
                migrations.DeleteModel("InvoiceNumberCounter"),
                migrations.DeleteModel("Invoice"),
            ]
        ),
    ]
