"""Celery tasks (autodiscovered as ``billing.tasks``); task names are ``billing.tasks.<fn>``."""

from .invoices import *  # noqa: F403
from .purchases import *  # noqa: F403
