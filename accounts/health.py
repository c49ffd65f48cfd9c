"""Extra health checks other apps register (e.g. periodic job freshness). Each returns "ok" or an error."""

from collections.abc import Callable

_CHECKS: dict[str, Callable[[], object]] = {}


def register(name: str, check: Callable[[], object]) -> None:
    _CHECKS[name] = check


def extra_checks() -> dict[str, object]:
    return {name: check() for name, check in _CHECKS.items()}
