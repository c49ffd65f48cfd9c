"""Periodic job freshness: a Celery signal records each run of a scheduled task; /healthz reports the age
of the last successful run of every job and turns 503 when one is overdue."""

from __future__ import annotations

from celery import current_app, signals
from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import JobHeartbeat

DAY = 24 * 60 * 60


def max_age_for(spec: dict) -> int:
    """How old the last success may be before the job counts as overdue: three intervals for frequent jobs,
    a day and two hours for daily ones, 32 days for monthly ones (or ``max_age_minutes`` if given)."""
    if "max_age_minutes" in spec:
        return int(spec["max_age_minutes"]) * 60
    if "every_minutes" in spec:
        return max(int(spec["every_minutes"]) * 3 * 60, 15 * 60)
    crontab = spec.get("crontab", {})
    if crontab.get("day_of_month", "*") != "*":
        return 32 * DAY
    if crontab.get("day_of_week", "*") != "*":
        return 8 * DAY
    if crontab.get("hour", "*") != "*":
        return DAY + 2 * 60 * 60
    return 2 * 60 * 60


def _periodic_task_names() -> set[str]:
    return {spec["task"] for spec in settings.SALDO_PERIODIC_TASKS.values()}


@signals.task_postrun.connect(dispatch_uid="saldo.job_heartbeat")
def record_job_run(sender=None, task=None, state=None, retval=None, **kwargs) -> None:
    name = getattr(task, "name", None)
    if name not in _periodic_task_names():
        return
    now = timezone.now()
    if state == "SUCCESS":
        JobHeartbeat.objects.filter(task=name).update(last_success_at=now)
    else:
        JobHeartbeat.objects.filter(task=name).update(last_failure_at=now, last_error=str(retval)[:2000])


def jobs_status() -> dict:
    now = timezone.now()
    jobs = {}
    overdue = False
    for beat in JobHeartbeat.objects.filter(name__in=settings.SALDO_PERIODIC_TASKS.keys()):
        late = beat.is_overdue(now)
        overdue = overdue or late
        jobs[beat.name] = {
            "last_success_at": beat.last_success_at.isoformat() if beat.last_success_at else None,
            "age_seconds": beat.age_seconds(now),
            "max_age_seconds": beat.max_age_seconds,
            "overdue": late,
        }
    return {"status": "error" if overdue else "ok", "jobs": jobs}


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - report, never raise
        return f"error: {exc.__class__.__name__}"
    return "ok"


def broker_status() -> str:
    try:
        # Celery's current app is the project's (config.celery_app, loaded with Django): no import upward.
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - report, never raise
        return f"error: {exc.__class__.__name__}"
    return "ok"


def health() -> dict:
    """Liveness and readiness: the database and the broker answer, and no periodic job is overdue."""
    checks: dict = {"database": database_status(), "broker": broker_status()}
    if checks["database"] == "ok":
        checks["periodic_jobs"] = jobs_status()
    healthy = all(
        value == "ok" or (isinstance(value, dict) and value.get("status") == "ok") for value in checks.values()
    )
    return {"status": "ok" if healthy else "error", "checks": checks}
