"""Webhook target rules: the URL parts, which addresses are public, and the address a delivery connects to."""

from __future__ import annotations

import pytest

from unstract.services import webhook_targets as targets


def test_the_request_goes_to_the_checked_address_with_the_name_in_the_host_header():
    target = targets.parse("https://Hooks.Example.com:8443/in?x=1")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "hooks.example.com", 8443, "/in?x=1")
    assert target.url_for("93.184.215.14") == "https://93.184.215.14:8443/in?x=1"
    assert target.host_header == "hooks.example.com:8443"
    assert targets.parse("http://[2606:2800::1]/").url_for("2606:2800::1") == "http://[2606:2800::1]:80/"
    assert targets.parse("http://[2606:2800::1]/").host_header == "[2606:2800::1]"


@pytest.mark.parametrize("address, public", [
    ("93.184.215.14", True), ("2606:2800:220:1::1", True), ("127.0.0.1", False), ("10.0.0.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("224.0.0.1", False), ("::1", False), ("fe80::1", False),
    ("::ffff:10.0.0.1", False), ("::ffff:93.184.215.14", True), ("0.0.0.0", False), ("240.0.0.1", False),
])
def test_only_globally_routable_unicast_addresses_are_public(address, public):
    assert targets.is_public(address) is public


def test_a_name_resolving_to_loopback_is_refused_at_delivery_unless_allowed():
    target = targets.parse("http://localhost:8080/hook")
    with pytest.raises(targets.TargetRefused, match="not allowed"):
        targets.address_to_connect(target, allow_private=False)
    assert targets.address_to_connect(target, allow_private=True) in ("127.0.0.1", "::1")


@pytest.mark.slow  # waits out the resolver
def test_an_unresolvable_name_is_accepted_at_save_and_refused_at_delivery():
    targets.check_at_save("https://no-such-host.invalid/hook", allow_private=False)
    with pytest.raises(targets.TargetRefused, match="Could not resolve"):
        targets.address_to_connect(targets.parse("https://no-such-host.invalid/hook"), allow_private=False)
