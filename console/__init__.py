"""The staff console: Saldo's admin site (home figures, organization overview, review queues) and /healthz.

The top layer: it may use every app; no app imports it."""
