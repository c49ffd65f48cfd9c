"""Production settings refuse to start without secrets and pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "DJANGO_SECRET_KEY": "k8#x!2v-Qm9$wz7@pL4^rT6&yH1*nB3%cD5(eF0)gJ-uV8+sA_oI",
    "DATABASE_URL": "postgres://saldo:pw@127.0.0.1:5432/saldo",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "saldo.example.com",
    "PAYMENT_GATEWAY": "midtrans",
}


def _run(args, env_extra):
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' harness in this process; never in production.
    dropped = {*SECRETS, "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **env_extra})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_it_refuses_to_start_without_each_secret():
    for missing in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        env = {k: v for k, v in SECRETS.items() if k != missing}
        result = _run(["check"], env)
        assert result.returncode != 0, missing
        assert missing in result.stderr, result.stderr[-500:]


def test_it_refuses_the_sandbox_gateway():
    result = _run(["check"], {**SECRETS, "PAYMENT_GATEWAY": "sandbox"})
    assert result.returncode != 0
    assert "sandbox" in result.stderr


def test_it_passes_check_deploy_without_warnings():
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], SECRETS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
