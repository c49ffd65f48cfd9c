"""Production settings refuse to start on a missing or placeholder value of anything production needs, naming
the variable, and pass `check --deploy` when everything is there. Each case starts Django (``manage.py check``)
in a subprocess with production settings and one variable missing or wrong."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "DJANGO_SECRET_KEY": "k8#x!2v-Qm9$wz7@pL4^rT6&yH1*nB3%cD5(eF0)gJ-uV8+sA_oI",
    "DATABASE_URL": "postgres://saldo:pw@127.0.0.1:5432/saldo",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "saldo.example.com",
    "EMAIL_URL": "smtp://mailer:secret@mail.internal:587",
    "SITE_URL": "https://saldo.co.id",
    "SELLER_NAME": "PT Contoh Makmur Sejahtera",
    "SELLER_NPWP": "0123456789012345",
    "SELLER_NITKU": "0123456789012345000000",
    "SELLER_ADDRESS": "Jl. Merdeka No. 1, Bandung 40111",
    "SELLER_EMAIL": "tagihan@contoh-makmur.co.id",
    "PAYMENT_GATEWAY": "midtrans",
    "MIDTRANS_SERVER_KEY": "Mid-server-Abc123",
    "MIDTRANS_IS_PRODUCTION": "true",
}
XENDIT = {
    **{k: v for k, v in SECRETS.items() if not k.startswith("MIDTRANS")},
    "PAYMENT_GATEWAY": "xendit",
    "XENDIT_SECRET_KEY": "xnd_production_Abc123",
    "XENDIT_CALLBACK_TOKEN": "cb-token-123",
}
# Every variable production reads that could leak in from the machine running the tests.
CONTROLLED = {*SECRETS, *XENDIT, "MIDTRANS_API_URL", "MIDTRANS_SNAP_URL", "XENDIT_API_URL"}


def _run(args, env_extra):
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' harness in this process; never in production.
    dropped = {*CONTROLLED, "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **env_extra})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _refused(result, name):
    assert result.returncode != 0, name
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr, result.stderr[-800:]


# (variable, value or None for missing): each one alone must stop the start.
REFUSED = [
    ("DJANGO_SECRET_KEY", None),
    ("DJANGO_SECRET_KEY", ""),
    ("DATABASE_URL", None),
    ("REDIS_URL", None),
    ("EMAIL_URL", None),
    ("EMAIL_URL", "consolemail://"),
    ("SITE_URL", None),
    ("SITE_URL", "http://saldo.co.id"),
    ("SITE_URL", "https://127.0.0.1:8000"),
    ("SELLER_NAME", None),
    ("SELLER_NAME", "PT Saldo Teknologi Nusantara"),
    ("SELLER_NPWP", None),
    ("SELLER_NPWP", "01.234.567.8-901.000"),
    ("SELLER_NPWP", "12345"),
    ("SELLER_ADDRESS", None),
    ("SELLER_ADDRESS", "Jl. Jend. Sudirman Kav. 52-53, Jakarta Selatan 12190"),
    ("SELLER_NITKU", None),
    ("SELLER_NITKU", "0012345678901000000000"),  # the development seller's
    ("SELLER_NITKU", "9999999999999999000000"),  # not the seller's NPWP
    ("SELLER_NITKU", "01234567890123450000"),
    ("SELLER_EMAIL", None),
    ("SELLER_EMAIL", "billing@saldo.local"),
    ("PAYMENT_GATEWAY", "sandbox"),
    ("PAYMENT_GATEWAY", "paypal"),
    ("MIDTRANS_SERVER_KEY", None),
    ("MIDTRANS_SERVER_KEY", "SB-Mid-server-TEST"),
    ("MIDTRANS_IS_PRODUCTION", "false"),
    ("MIDTRANS_API_URL", "https://api.sandbox.midtrans.com"),
    ("MIDTRANS_SNAP_URL", "https://app.sandbox.midtrans.com"),
]
XENDIT_REFUSED = [
    ("XENDIT_SECRET_KEY", None),
    ("XENDIT_SECRET_KEY", "xnd_development_TEST"),
    ("XENDIT_CALLBACK_TOKEN", None),
    ("XENDIT_API_URL", "http://api.xendit.co"),
]


def _env_without(base: dict, name: str, value: str | None) -> dict:
    env = {k: v for k, v in base.items() if k != name}
    if value is not None:
        env[name] = value
    return env


@pytest.mark.parametrize(("name", "value"), REFUSED, ids=[f"{n}={v}" for n, v in REFUSED])
def test_it_refuses_to_start(name, value):
    _refused(_run(["check"], _env_without(SECRETS, name, value)), name)


@pytest.mark.parametrize(("name", "value"), XENDIT_REFUSED, ids=[f"{n}={v}" for n, v in XENDIT_REFUSED])
def test_it_refuses_to_start_with_xendit(name, value):
    _refused(_run(["check"], _env_without(XENDIT, name, value)), name)


def test_it_requires_the_seller_nitku_exactly_when_settings_know_it():
    from django.conf import settings

    assert "nitku" in settings.SELLER and hasattr(settings, "SELLER_NITKU")  # e-Faktur needs it (issue 16)
    _refused(_run(["check"], _env_without(SECRETS, "SELLER_NITKU", None)), "SELLER_NITKU")


def test_a_legacy_npwp_and_its_nitku_start():
    env = {**SECRETS, "SELLER_NPWP": "01.234.567.8-902.000", "SELLER_NITKU": "0012345678902000000001"}
    result = _run(["shell", "-c", "from django.conf import settings; print(settings.SELLER['nitku'])"], env)
    assert result.returncode == 0, result.stderr[-800:]
    assert result.stdout.strip().splitlines()[-1] == "0012345678902000000001"


@pytest.mark.parametrize("env", [SECRETS, XENDIT], ids=["midtrans", "xendit"])
def test_it_passes_check_deploy_without_warnings(env):
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
