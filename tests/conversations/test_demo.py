import pytest
from django.core.management import call_command

from conversations.models import Conversation, MessageStatus, WhatsAppNumber

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_the_demo_org_whatsapp_traffic_once():
    call_command("seed_demo")
    counts = (WhatsAppNumber.objects.count(), MessageStatus.objects.count(), Conversation.objects.count())
    assert counts[2] > 100
    assert Conversation.objects.filter(organization__slug="demo", price__gt=0).exists()
    call_command("seed_demo")
    assert (WhatsAppNumber.objects.count(), MessageStatus.objects.count(), Conversation.objects.count()) == counts
