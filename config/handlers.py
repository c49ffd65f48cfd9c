"""The WSGI application: one Django process, two middleware stacks.

People use the site through a browser: sessions, CSRF, messages, language, login throttling and the current
organization all matter (``settings.MIDDLEWARE``). Machines call ``settings.MACHINE_PATH_PREFIXES`` (the REST
API and the webhooks): they authenticate every request with an API key or a signature, keep no session and get
JSON back, so they run through ``settings.MACHINE_MIDDLEWARE`` only (request id, security headers). Skipping
the rest saves about a third of a millisecond of CPU on every chatbot message (bench/credits_bench.py).

The test client builds its own handler with the full stack; ``tests/ops/test_wsgi.py`` calls this application.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler


class StackWSGIHandler(WSGIHandler):
    """A WSGIHandler whose middleware chain comes from the setting named ``stack_setting`` (the site's
    ``MIDDLEWARE`` by default); ``middleware`` lists what it loaded."""

    stack_setting = "MIDDLEWARE"

    def load_middleware(self, is_async=False):
        # BaseHandler.load_middleware reads settings.MIDDLEWARE; give it this handler's list while it builds the
        # chain (once, at start-up, before any request is served), then put the site's list back.
        site_stack = settings.MIDDLEWARE
        self.middleware = list(getattr(settings, self.stack_setting))
        settings.MIDDLEWARE = self.middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_stack


class MachineWSGIHandler(StackWSGIHandler):
    stack_setting = "MACHINE_MIDDLEWARE"


class SaldoWSGIApplication:
    """Route each request to the site handler or the machine handler by path prefix."""

    def __init__(self):
        self.site = StackWSGIHandler()
        self.machine = MachineWSGIHandler()
        self.prefixes = tuple(settings.MACHINE_PATH_PREFIXES)

    def handler_for(self, path: str) -> WSGIHandler:
        return self.machine if path.startswith(self.prefixes) else self.site

    def __call__(self, environ, start_response):
        return self.handler_for(environ.get("PATH_INFO", ""))(environ, start_response)


def get_application() -> SaldoWSGIApplication:
    import django

    django.setup(set_prefix=False)
    return SaldoWSGIApplication()
