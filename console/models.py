"""What the console keeps of its own: when each periodic job last ran."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobHeartbeat(models.Model):
    """When each periodic job last ran. Written by a Celery signal; read by /healthz."""

    name = models.CharField(max_length=100, unique=True)
    task = models.CharField(max_length=200, db_index=True)
    max_age_seconds = models.PositiveIntegerField()
    registered_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("periodic job heartbeat")
        verbose_name_plural = _("periodic job heartbeats")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def age_seconds(self, now=None) -> int:
        now = now or timezone.now()
        return int((now - (self.last_success_at or self.registered_at)).total_seconds())

    def is_overdue(self, now=None) -> bool:
        return self.age_seconds(now) > self.max_age_seconds
