"""Periodic credit jobs. All are idempotent and safe in two workers at once (invariant 9)."""

from celery import shared_task

from . import partitions, reminders, services


@shared_task(name="credits.tasks.expire_credit_lots")
def expire_credit_lots() -> int:
    return services.lots_expire()


@shared_task(name="credits.tasks.send_credit_reminders")
def send_credit_reminders() -> dict:
    return reminders.credits_remind()


@shared_task(name="credits.tasks.maintain_usage_storage")
def maintain_usage_storage() -> dict:
    return partitions.usage_storage_maintain()
