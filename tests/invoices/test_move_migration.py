"""Invoices moved from billing to their own app by renaming tables: from the state before the move, with data,
migrating forward keeps every row, the purchase's link to its invoice, the content types (so permissions,
the staff groups' rights and admin history keep pointing at them), and the sequences; migrating back restores
the billing names."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("invoices", None), ("billing", "0006_invoice_created_index")]
AFTER = [("billing", "0007_invoices_move_to_their_app"), ("invoices", "0001_initial")]
MODELS = ["invoice", "invoiceline", "invoicenumbercounter"]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state([t for t in target if t[1]]).apps


def tables():
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def test_the_move_keeps_rows_links_content_types_and_group_permissions():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        ContentType = old.get_model("contenttypes", "ContentType")
        Permission = old.get_model("auth", "Permission")
        Group = old.get_model("auth", "Group")
        ContentType.objects.filter(model__in=MODELS).delete()
        type_ids = {m: ContentType.objects.create(app_label="billing", model=m).pk for m in MODELS}
        view = Permission.objects.create(
            content_type_id=type_ids["invoice"], codename="view_invoice", name="Can view invoice"
        )
        finance, _ = Group.objects.get_or_create(name="Finance")
        finance.permissions.add(view)

        org = old.get_model("accounts", "Organization").objects.create(name="Toko Maju", slug="toko-maju-move")
        Invoice = old.get_model("billing", "Invoice")
        invoice = Invoice.objects.create(
            organization=org,
            status="paid",
            number="INV/2026/11/000001",
            buyer_name="Toko Maju",
            seller_name="S",
            subtotal=100_000,
            tax=11_000,
            total=111_000,
        )
        old.get_model("billing", "InvoiceLine").objects.create(
            invoice=invoice,
            description="1.000 kredit",
            quantity=1000,
            unit_price=100,
            amount=100_000,
            tax_rate="0.11",
            tax=11_000,
        )
        old.get_model("billing", "InvoiceNumberCounter").objects.create(
            series="INV", year=2026, month=11, last_number=1
        )
        purchase = old.get_model("billing", "Purchase").objects.create(
            organization=org,
            credits=1000,
            unit_price=100,
            subtotal=100_000,
            tax=11_000,
            total=111_000,
            order_id="SALDO-MOVE-1",
            invoice=invoice,
            tax_rate="0.11",
            gateway="sandbox",
            idempotency_key="move-1",
        )

        new = migrate(AFTER)
        assert {"invoices_invoice", "invoices_invoiceline", "invoices_invoicenumbercounter"} <= tables()
        assert not {"billing_invoice", "billing_invoiceline", "billing_invoicenumbercounter"} & tables()
        moved = new.get_model("invoices", "Invoice").objects.get(pk=invoice.pk)
        assert (moved.number, moved.total, moved.organization_id) == ("INV/2026/11/000001", 111_000, org.pk)
        assert new.get_model("invoices", "InvoiceLine").objects.get().invoice_id == invoice.pk
        assert new.get_model("invoices", "InvoiceNumberCounter").objects.get().last_number == 1
        assert new.get_model("billing", "Purchase").objects.get(pk=purchase.pk).invoice_id == invoice.pk
        NewType = new.get_model("contenttypes", "ContentType")
        for model, pk in type_ids.items():
            assert (NewType.objects.get(pk=pk).app_label, NewType.objects.get(pk=pk).model) == ("invoices", model)
        perm = new.get_model("auth", "Permission").objects.get(pk=view.pk)
        assert perm.content_type_id == type_ids["invoice"]
        assert new.get_model("auth", "Group").objects.get(name="Finance").permissions.filter(pk=view.pk).exists()
        # New lines still get ids from the renamed sequence, and the FK and checks still hold.
        line = new.get_model("invoices", "InvoiceLine").objects.create(
            invoice_id=invoice.pk, description="2", quantity=1, unit_price=1, amount=1, tax_rate="0.11", tax=0
        )
        assert line.pk is not None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence('invoices_invoiceline', 'id')")
            assert cursor.fetchone()[0].endswith("invoices_invoiceline_id_seq")
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relname LIKE 'billing\\_invoice%%' AND relkind IN ('S', 'i')"
            )
            assert cursor.fetchone()[0] == 0

        back = migrate(BEFORE)
        assert back.get_model("billing", "Invoice").objects.get(pk=invoice.pk).number == "INV/2026/11/000001"
        assert back.get_model("contenttypes", "ContentType").objects.get(pk=type_ids["invoice"]).app_label == "billing"
    finally:
        migrate(latest)
