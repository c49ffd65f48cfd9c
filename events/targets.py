"""Where Saldo may send webhooks (DESIGN.md, "Outgoing events": safe targets).

In production (``EVENTS_ALLOW_PRIVATE_TARGETS`` false) an endpoint must be ``https`` (``EVENTS_REQUIRE_HTTPS``) and
every address its host resolves to must be public: loopback, private, link-local (cloud metadata at
169.254.169.254 included), carrier-grade NAT, multicast, reserved and unspecified addresses are refused. The check
runs when the endpoint is saved and again at every connection: the host is resolved once, checked, and the
connection goes to that checked address (DNS rebinding cannot swap it between the check and the connect).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

# Addresses that are never a customer's public server, beyond what the ipaddress flags cover.
_BLOCKED_NETWORKS = [
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
]


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (the Host header and TLS server name)
    port: int
    address: str  # the checked IP address to connect to


def _allow_private() -> bool:
    return bool(getattr(settings, "EVENTS_ALLOW_PRIVATE_TARGETS", False))


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return False
    return not any(ip in net for net in _BLOCKED_NETWORKS if net.version == ip.version)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself). Tests replace this."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(_("This is not a valid URL.")) from exc
    scheme = (parts.scheme or "").lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not host:
        raise UnsafeTarget(_("The URL must start with https:// and name a host."))
    if parts.username or parts.password:
        raise UnsafeTarget(_("The URL may not contain a user name or password."))
    if getattr(settings, "EVENTS_REQUIRE_HTTPS", False) and scheme != "https":
        raise UnsafeTarget(_("The URL must use https."))
    return scheme, host, port or (443 if scheme == "https" else 80)


def check(url: str) -> Target:
    """Resolve and check ``url``; return where to connect. Raises UnsafeTarget."""
    scheme, host, port = parse(url)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeTarget(_("The host %(host)s could not be resolved.") % {"host": host}) from exc
    if not addresses:
        raise UnsafeTarget(_("The host %(host)s could not be resolved.") % {"host": host})
    if not _allow_private():
        # Every address, not just the first: a host with one public and one private address is refused.
        for address in addresses:
            if not is_public_address(address):
                raise UnsafeTarget(
                    _("%(host)s resolves to a private, loopback or link-local address.") % {"host": host}
                )
    return Target(scheme=scheme, host=host, port=port, address=addresses[0])


def validate_url(url: str) -> None:
    """On save. With private targets allowed (local, test) nothing is resolved: no DNS in tests."""
    if _allow_private():
        parse(url)
        return
    check(url)
