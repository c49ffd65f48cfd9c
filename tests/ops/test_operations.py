import json
import logging
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from console.health import max_age_for, record_job_run
from console.models import JobHeartbeat

JOBS = {
    "frequent job": {"task": "tests.frequent", "every_minutes": 5},
    "daily job": {"task": "tests.daily", "crontab": {"minute": "0", "hour": "7"}},
}


class _Task:
    def __init__(self, name):
        self.name = name


def test_it_derives_how_late_a_job_may_be():
    assert max_age_for({"every_minutes": 5}) == 15 * 60
    assert max_age_for({"crontab": {"hour": "7"}}) == 26 * 3600
    assert max_age_for({"crontab": {"hour": "0", "day_of_month": "1"}}) == 32 * 86400


@pytest.mark.django_db
def test_it_reports_job_ages_and_turns_503_when_one_is_overdue(client, settings):
    settings.SALDO_PERIODIC_TASKS = JOBS
    call_command("setup_periodic_tasks", stdout=StringIO())
    first = client.get("/healthz")
    assert first.status_code == 200, first.json()  # just registered: not late yet

    record_job_run(task=_Task("tests.frequent"), state="SUCCESS")
    record_job_run(task=_Task("tests.daily"), state="SUCCESS")
    body = client.get("/healthz").json()
    assert body["checks"]["periodic_jobs"]["jobs"]["frequent job"]["overdue"] is False

    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        response = client.get("/healthz")
        assert response.status_code == 503
        jobs = response.json()["checks"]["periodic_jobs"]["jobs"]
        assert jobs["frequent job"]["overdue"] is True
        assert jobs["daily job"]["overdue"] is False
        assert jobs["frequent job"]["age_seconds"] >= 20 * 60


@pytest.mark.django_db
def test_it_does_not_count_a_failed_run_as_fresh(settings):
    settings.SALDO_PERIODIC_TASKS = JOBS
    call_command("setup_periodic_tasks", stdout=StringIO())
    record_job_run(task=_Task("tests.frequent"), state="FAILURE", retval=RuntimeError("boom"))
    beat = JobHeartbeat.objects.get(name="frequent job")
    assert beat.last_success_at is None
    assert "boom" in beat.last_error


@pytest.mark.django_db
def test_it_returns_and_logs_a_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32


def test_it_formats_production_logs_as_json_with_the_request_id():
    from pythonjsonlogger.json import JsonFormatter

    from config.logging import RequestIdFilter, request_id_var

    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("saldo.test.json")
    logger.addHandler(handler)
    token = request_id_var.set("req-42")
    try:
        logger.warning("payment held for review")
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["request_id"] == "req-42"
    assert line["message"] == "payment held for review"


@pytest.mark.django_db
def test_it_shows_branded_404_and_500_pages(owner_client, settings):
    response = owner_client.get("/billing/invoices/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert "Saldo" in response.content.decode()

    from django.test import RequestFactory

    from config.errors import server_error

    request = RequestFactory().get("/")
    request.request_id = "r-500"
    page = server_error(request)
    assert page.status_code == 500
    assert "r-500" in page.content.decode()


@pytest.mark.django_db
def test_it_renders_a_500_without_leaking_a_traceback(settings):
    from django.urls import path

    def boom(request):
        raise RuntimeError("secret internals")

    import config.urls

    settings.ROOT_URLCONF = type(
        "U",
        (),
        {"urlpatterns": [path("boom", boom), *config.urls.urlpatterns], "handler500": "config.errors.server_error"},
    )
    client = Client(raise_request_exception=False)
    response = client.get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.content.decode()
    assert "Something went wrong" in response.content.decode()
