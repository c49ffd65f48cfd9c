from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from credits.signals import balance_fell_below_auto_topup

        balance_fell_below_auto_topup.connect(_queue_auto_topup, dispatch_uid="billing.auto_topup")


def _queue_auto_topup(sender, organization_id, balance, **kwargs):
    """A charge crossed the auto top-up threshold (after its commit): prepare the purchase in a task."""
    import logging

    from .tasks.auto_topup import prepare_auto_topup

    try:
        prepare_auto_topup.delay(str(organization_id))
    except Exception:  # broker down: the next crossing, or enabling the rule again, prepares it
        logging.getLogger(__name__).exception("could not queue the auto top-up of %s", organization_id)
