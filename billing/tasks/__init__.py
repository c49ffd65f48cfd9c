"""Celery tasks (autodiscovered as ``billing.tasks``); task names are ``billing.tasks.<fn>``."""

from .auto_topup import *  # noqa: F403
from .emails import *  # noqa: F403
from .purchases import *  # noqa: F403
