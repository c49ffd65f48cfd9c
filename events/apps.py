from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = _("Outgoing events")

    def ready(self):
        # accounts sits below events (DESIGN.md, "Apps"): it announces API suspension with a signal, which is
        # turned into an event here, synchronously, inside the transaction that suspended.
        from . import receivers  # noqa: F401
