from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Membership, Organization, User


def _counts():
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in {"accounts", "credits", "billing", "conversations"}
    }


@pytest.mark.django_db
def test_it_seeds_demo_data_idempotently_and_prints_the_logins():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first
    text = out.getvalue()
    assert "owner@demo.saldo.id" in text and "admin@saldo.local" in text
    owner = User.objects.get(email="owner@demo.saldo.id")
    assert owner.check_password("demo-owner-2026")
    assert Membership.objects.get(user=owner).role == "owner"
    assert User.objects.get(email="admin@saldo.local").is_superuser


@pytest.mark.django_db
def test_it_creates_an_organization_and_prints_its_slug():
    out = StringIO()
    call_command(
        "create_org",
        "--name",
        "Kopi Kenangan Senja",
        "--owner-email",
        "Boss@Kopi.id",
        "--password",
        "pw-123456789",
        stdout=out,
    )
    slug = out.getvalue().strip()
    assert slug == "kopi-kenangan-senja"
    org = Organization.objects.get(slug=slug)
    assert Membership.objects.get(organization=org).user.check_password("pw-123456789")


@pytest.mark.django_db
def test_it_prints_an_api_key_that_authenticates(organization):
    out = StringIO()
    call_command("create_api_key", "--org", organization.slug, "--name", "bot", stdout=out)
    raw = out.getvalue().strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/organization").json()["slug"] == organization.slug


@pytest.mark.django_db
def test_it_refuses_an_api_key_for_an_unknown_org():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_key", "--org", "nope", stdout=StringIO())


@pytest.mark.django_db
def test_it_writes_the_periodic_schedule_idempotently(settings):
    from django_celery_beat.models import PeriodicTask

    settings.SALDO_PERIODIC_TASKS = {
        "sample job": {"task": "celery.backend_cleanup", "every_minutes": 5},
        "daily job": {"task": "celery.backend_cleanup", "crontab": {"minute": "0", "hour": "7"}},
    }
    call_command("setup_periodic_tasks", stdout=StringIO())
    call_command("setup_periodic_tasks", stdout=StringIO())
    assert PeriodicTask.objects.filter(name__in=["sample job", "daily job"]).count() == 2
    assert PeriodicTask.objects.get(name="sample job").interval.every == 5
