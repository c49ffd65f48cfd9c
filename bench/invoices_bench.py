"""Benchmark: rendering invoice PDFs, and serving stored ones.

    DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python bench/invoices_bench.py [--count 200]

Creates a throw-away test database (SQLite in memory unless DATABASE_URL is set; then ``test_<name>``),
issues ``--count`` invoices, then

1. renders a minimal one-line HTML document with WeasyPrint (no stylesheet) and every invoice PDF (the real
   templates, bundled fonts, logo, the letterhead laid under page 1), interleaved, after a warm-up,
2. downloads every stored PDF through ``/billing/invoices/<uuid>/pdf/`` while counting renders.

Prints per-document times and the ratio invoice / minimal document. Targets: ratio <= 4, <= 0.3 s per
invoice, and zero renders while downloading stored PDFs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def timed(fn, n):
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return times


def summary(times):
    times = sorted(times)
    return {
        "mean": statistics.fmean(times),
        "median": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "total": sum(times),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="saldo-bench-"))
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        return run(args.count)
    finally:
        teardown_databases(old_config, verbosity=0)


def run(count: int) -> int:
    from unittest import mock

    from django.test import Client

    from accounts.models import Membership, Organization, User
    from billing import pdf
    from billing.models import Invoice
    from billing.services import invoice_create, invoice_mark_paid, invoice_render_pdf

    owner = User.objects.create_user("bench@saldo.local", "bench-password-123")
    org = Organization.objects.create(
        name="Toko Maju",
        slug="bench",
        legal_name="PT Toko Maju Sejahtera",
        npwp="02.345.678.9-012.000",
        address="Jl. Gajah Mada No. 12\nJakarta Pusat 10130",
        invoice_email="finance@tokomaju.id",
    )
    Membership.objects.create(user=owner, organization=org, role=Membership.Role.OWNER)
    with (
        mock.patch("billing.tasks.invoices.render_invoice_pdf.delay"),
        mock.patch("billing.tasks.invoices.email_invoice.delay"),
    ):
        for i in range(count):
            invoice = invoice_create(
                organization=org,
                lines=[
                    {
                        "description": f"{(i % 9 + 1) * 1000:,} kredit pesan chatbot · berlaku 30 hari".replace(
                            ",", "."
                        ),
                        "quantity": (i % 9 + 1) * 1000,
                        "unit_price": 100,
                    }
                ],
            )
            if i % 2 == 0:
                invoice_mark_paid(invoice=invoice, payment_reference=f"VA-{i:06d}")
    invoices = list(Invoice.objects.prefetch_related("lines").order_by("number"))

    from weasyprint import HTML

    minimal_html = "<p>Hello.</p>"
    jobs = {
        # The baseline as anyone would call WeasyPrint, and the same one-liner through our pipeline (shared fonts).
        "minimal": lambda i: HTML(string=minimal_html).write_pdf(),
        "minimal_shared": lambda i: pdf.render_html_pdf(minimal_html, stylesheets=False),
        "invoice": lambda i: pdf.render_invoice_pdf(invoices[i % len(invoices)]),
    }
    # Warm-up, so font loading, template compilation and the letterheads (one per status) are not counted.
    for i in range(5):
        for job in jobs.values():
            job(i)
    # Interleaved, the order rotating each round, so load from the rest of the machine falls on all alike.
    times = {name: [] for name in jobs}
    names = list(jobs)
    for i in range(count):
        for k in range(len(names)):
            name = names[(i + k) % len(names)]
            start = time.perf_counter()
            jobs[name](i)
            times[name].append(time.perf_counter() - start)
    minimal, minimal_shared, rendered = times["minimal"], times["minimal_shared"], times["invoice"]

    for invoice in invoices:
        invoice_render_pdf(invoice=invoice)
    client = Client()
    client.force_login(owner)
    renders = []
    real = pdf.render_invoice_pdf

    def counting(*a, **k):
        renders.append(1)
        return real(*a, **k)

    with mock.patch.object(pdf, "render_invoice_pdf", counting):

        def download(i):
            response = client.get(f"/billing/invoices/{invoices[i % len(invoices)].pk}/pdf/")
            assert response.status_code == 200 and response.content.startswith(b"%PDF")

        downloads = timed(download, count)

    m, ms, r, d = summary(minimal), summary(minimal_shared), summary(rendered), summary(downloads)
    ratio = r["mean"] / m["mean"]
    print(f"documents: {count} (interleaved with the baselines, after a warm-up)")
    print(
        f"minimal one-line HTML : mean {m['mean'] * 1000:7.1f} ms  median {m['median'] * 1000:7.1f} ms  p95 {m['p95'] * 1000:7.1f} ms"
    )
    print(
        f"minimal, shared fonts : mean {ms['mean'] * 1000:7.1f} ms  median {ms['median'] * 1000:7.1f} ms  p95 {ms['p95'] * 1000:7.1f} ms"
    )
    print(
        f"invoice PDF           : mean {r['mean'] * 1000:7.1f} ms  median {r['median'] * 1000:7.1f} ms  p95 {r['p95'] * 1000:7.1f} ms  total {r['total']:.1f} s"
    )
    print(f"ratio invoice/minimal : mean {ratio:.2f}x  median {r['median'] / m['median']:.2f}x (target <= 4x)")
    print(
        f"ratio invoice/minimal with shared fonts: mean {r['mean'] / ms['mean']:.2f}x  median {r['median'] / ms['median']:.2f}x"
    )
    print(
        f"stored PDF download   : mean {d['mean'] * 1000:7.1f} ms  median {d['median'] * 1000:7.1f} ms  renders during downloads: {len(renders)}"
    )
    ok = ratio <= 4 and r["mean"] <= 0.3 and not renders
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
