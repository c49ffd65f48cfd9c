"""Celery tasks (autodiscovered as ``billing.tasks``); task names are ``billing.tasks.<fn>``."""

from .purchases import *  # noqa: F403
