"""Events for facts announced by apps below events (accounts), turned into outbox rows in their transaction."""

from django.dispatch import receiver

from accounts.signals import api_access_changed

from . import services
from .types import API_RESTORED, API_SUSPENDED


@receiver(api_access_changed, dispatch_uid="events.api_access_changed")
def _api_access_changed(sender, organization, suspended: bool, reason: str = "", **kwargs) -> None:
    services.event_emit(
        organization=organization,
        type=API_SUSPENDED if suspended else API_RESTORED,
        payload={"id": str(organization.pk), "slug": organization.slug, "api_suspended": suspended, "reason": reason},
    )
