import json

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from conversations import tasks
from conversations.models import Conversation, WebhookEvent

from .helpers import status_payload

pytestmark = pytest.mark.django_db


def test_the_close_month_job_is_scheduled_on_the_1st_in_jakarta():
    call_command("setup_periodic_tasks")
    job = PeriodicTask.objects.get(name="close conversation month")
    assert job.task == "conversations.tasks.close_conversation_month"
    assert (job.crontab.day_of_month, job.crontab.hour, job.crontab.minute) == ("1", "1", "0")
    assert str(job.crontab.timezone) == "Asia/Jakarta"
    sweep = PeriodicTask.objects.get(name="process waiting whatsapp webhooks")
    assert sweep.interval.every == 5


def test_the_sweep_rates_deliveries_whose_task_was_lost(number):
    for i in range(3):
        body = status_payload(
            wamid=f"w{i}",
            status="delivered",
            timestamp=1754073919,
            category="marketing",
            pricing_model="PMP",
            pricing_type="regular",
        )
        WebhookEvent.objects.create(body_sha256=f"{i:064d}", body=json.dumps(body))  # stored, never queued
    assert tasks.process_pending_webhook_events.delay().get() == 3
    assert Conversation.objects.count() == 3
    assert tasks.process_pending_webhook_events.delay().get() == 0  # running it again changes nothing
    assert Conversation.objects.count() == 3


def test_a_bad_month_argument_is_refused():
    with pytest.raises(ValueError):
        tasks.close_conversation_month.delay("July").get()
