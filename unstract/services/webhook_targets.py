"""Where a webhook may be sent (docs/SECURITY.md, Webhook targets): http(s) URLs whose addresses are public.

Checked when a notification is saved and again at each delivery, after resolving the name: the delivery
connects to the very address that was checked, so a name that resolves differently the second time
(DNS rebinding) cannot lead it to an internal service. UNSTRACT_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true
lifts the address rule (a receiver on the same host or network).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
NOT_HTTP = "Enter an http or https URL."
PRIVATE = "Targets on loopback, private, link-local or reserved networks are not allowed."
LOCAL_NAMES = ("localhost", "localhost.localdomain")


class TargetRefused(Exception):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (a name, or an address without brackets)
    port: int
    path: str  # path and query, at least "/"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        """The URL with the checked address in place of the name (the request connects to it)."""
        host = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse(url: str) -> Target:
    """The parts of an http(s) URL with a host; TargetRefused(NOT_HTTP) otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused(NOT_HTTP) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname or any(c.isspace() for c in url):
        raise TargetRefused(NOT_HTTP)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme], path)


def is_public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address is judged as its IPv4 one)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def resolve(target: Target) -> list[str]:
    """The addresses the name resolves to now (an address literal is its own); [] when it does not."""
    literal = literal_address(target.host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_at_save(url: str, allow_private: bool) -> None:
    """Refuse a non-http URL, and (unless allowed) a host that is or resolves to a non-public address.
    A name that does not resolve yet is accepted: the delivery checks again."""
    target = parse(url)
    if allow_private:
        return
    if target.host in LOCAL_NAMES or target.host.endswith(".localhost"):
        raise TargetRefused(PRIVATE)
    if any(not is_public(address) for address in resolve(target)):
        raise TargetRefused(PRIVATE)


def address_to_connect(target: Target, allow_private: bool) -> str:
    """The address the delivery connects to: resolved now and checked; TargetRefused otherwise.
    Every address the name has must be public, so no round-robin answer can slip an internal one in."""
    addresses = resolve(target)
    if not addresses:
        raise TargetRefused(f"Could not resolve {target.host}.")
    if not allow_private and any(not is_public(address) for address in addresses):
        raise TargetRefused(PRIVATE)
    return addresses[0]
