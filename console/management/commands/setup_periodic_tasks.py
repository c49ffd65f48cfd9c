from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from console.health import max_age_for
from console.models import JobHeartbeat


class Command(BaseCommand):
    help = "Write the Celery beat schedule (settings.SALDO_PERIODIC_TASKS) into the database. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options):
        for name, spec in settings.SALDO_PERIODIC_TASKS.items():
            defaults = {"task": spec["task"], "enabled": True, "interval": None, "crontab": None}
            if "every_minutes" in spec:
                interval, _ = IntervalSchedule.objects.get_or_create(
                    every=spec["every_minutes"], period=IntervalSchedule.MINUTES
                )
                defaults["interval"] = interval
                schedule = f"every {spec['every_minutes']} min"
            else:
                fields = {"minute": "0", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
                fields.update(spec["crontab"])
                crontab, _ = CrontabSchedule.objects.get_or_create(timezone=settings.TIME_ZONE, **fields)
                defaults["crontab"] = crontab
                schedule = f"cron {crontab}"
            PeriodicTask.objects.update_or_create(name=name, defaults=defaults)
            JobHeartbeat.objects.update_or_create(
                name=name, defaults={"task": spec["task"], "max_age_seconds": max_age_for(spec)}
            )
            self.stdout.write(f"{name}: {spec['task']} ({schedule})")
        stale = PeriodicTask.objects.exclude(name__in=settings.SALDO_PERIODIC_TASKS).exclude(name__startswith="celery.")
        for task in stale:
            self.stdout.write(f"removed stale task {task.name}")
        stale.delete()
        JobHeartbeat.objects.exclude(name__in=settings.SALDO_PERIODIC_TASKS).delete()
        self.stdout.write(self.style.SUCCESS(f"{len(settings.SALDO_PERIODIC_TASKS)} periodic tasks written."))
