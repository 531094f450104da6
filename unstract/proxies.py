"""Who the client is and whether it came over HTTPS, the one place that reads the peer address and the
forwarding headers (docs/SECURITY.md, Proxies).

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the direct peer is a proxy listed in
UNSTRACT_TRUSTED_PROXIES (IP addresses or CIDR networks); anyone else could write them to dodge the
throttles or to pose as another address.
"""

from __future__ import annotations

import functools
import ipaddress

from flask import current_app, request

from unstract.config import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def parse_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """UNSTRACT_TRUSTED_PROXIES entries as networks (a bare address is a one-address network)."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(
                f"UNSTRACT_TRUSTED_PROXIES must list IP addresses or CIDR networks, got {entry!r}.") from None
    return tuple(networks)


def check_trusted_proxies(entries: list[str]) -> None:
    """Fail at start-up, naming the variable, rather than on the first request."""
    parse_networks(tuple(entries))


def _trusted_networks() -> tuple[Network, ...]:
    return parse_networks(tuple(current_app.config["UNSTRACT_SETTINGS"].trusted_proxies))


def is_trusted_proxy(address: str | None) -> bool:
    networks = _trusted_networks()
    if not networks or not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _forwarded_values(header: str) -> list[str]:
    """A comma-separated forwarding header (several headers of the name are joined) as a list."""
    return [value.strip() for value in ",".join(request.headers.getlist(header)).split(",") if value.strip()]


def client_address() -> str:
    """The client's IP address: the peer's, or, behind trusted proxies, the nearest address in
    X-Forwarded-For that is not itself a trusted proxy (entries further left were written by whoever
    the untrusted hop was, so they prove nothing)."""
    peer = request.remote_addr or ""
    if not is_trusted_proxy(peer):
        return peer
    hops = _forwarded_values("X-Forwarded-For")
    for hop in reversed(hops):
        if not is_trusted_proxy(hop):
            return hop
    return hops[0] if hops else peer


def request_is_https() -> bool:
    """HTTPS to this server, or to the trusted proxy in front of it (its X-Forwarded-Proto)."""
    if request.is_secure:
        return True
    if not is_trusted_proxy(request.remote_addr):
        return False
    protos = _forwarded_values("X-Forwarded-Proto")
    return bool(protos) and protos[-1].lower() == "https"
