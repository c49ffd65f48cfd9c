"""Auto top-up: prepared after a charge crossed the threshold (queued from the credits signal)."""

from celery import shared_task

__all__ = ["prepare_auto_topup"]


@shared_task(name="billing.tasks.prepare_auto_topup", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def prepare_auto_topup(organization_id: str) -> str:
    from accounts.models import Organization

    from ..services.auto_topup import auto_topup_prepare

    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return "missing"
    purchase = auto_topup_prepare(organization=organization)
    return purchase.order_id if purchase else "nothing"
