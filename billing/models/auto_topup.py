"""Auto top-up: "when my balance falls below X credits, prepare N credits" (off by default).

Saldo cannot pull money by bank transfer, so an auto top-up *prepares* a pending purchase and sends its
payment link; the owner pays it like any top-up. One open auto top-up purchase at a time is enforced by the
partial unique constraint ``purchase_one_open_auto_topup`` on ``Purchase``."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Mod
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

__all__ = ["AutoTopUp"]


class AutoTopUp(models.Model):
    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="auto_topup", verbose_name=_("organization")
    )
    enabled = models.BooleanField(_("enabled"), default=False)
    threshold = models.PositiveIntegerField(_("when the balance falls below (credits)"), default=1000)
    credits = models.PositiveIntegerField(_("prepare (credits)"), default=10000)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_prepared_at = models.DateTimeField(_("last prepared"), null=True, blank=True)

    class Meta:
        verbose_name = _("auto top-up")
        verbose_name_plural = _("auto top-ups")
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gt=0) & Q(Exact(Mod("credits", 1000), 0)), name="autotopup_credits_step"
            ),
            models.CheckConstraint(condition=Q(threshold__gt=0), name="autotopup_threshold_positive"),
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"{self.organization} · below {self.threshold} → {self.credits} ({state})"
