import pytest

from invoices.services import invoice_create


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def no_pdf(monkeypatch):
    """Skip the PDF rendering queued on commit (for tests about numbers, not documents)."""
    from invoices import tasks

    monkeypatch.setattr(tasks.render_invoice_pdf, "delay", lambda *a, **k: None)


@pytest.fixture
def make_invoice(organization):
    def make(**kwargs):
        kwargs.setdefault("organization", organization)
        kwargs.setdefault("lines", [{"description": "10.000 message credits", "quantity": 10000, "unit_price": 100}])
        return invoice_create(**kwargs)

    return make
