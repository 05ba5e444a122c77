"""The private-address guard: which addresses are public, and resolution caching."""

from __future__ import annotations

import ipaddress

import pytest

from archiver.netguard import Resolver, is_public, parse_ip


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_is_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


def test_parse_ip_takes_bracketed_ipv6_and_rejects_names():
    assert parse_ip("[::1]") == ipaddress.ip_address("::1")
    assert parse_ip("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert parse_ip("example.org") is None


async def test_resolver_answers_literals_and_localhost():
    resolver = Resolver()
    literal = await resolver.resolve("127.0.0.1")
    assert literal.private == (ipaddress.ip_address("127.0.0.1"),)
    local = await resolver.resolve("localhost")
    assert local.error is None
    assert local.private  # every localhost address is loopback


async def test_resolver_reports_names_that_do_not_exist():
    resolver = Resolver()
    first = await resolver.resolve("no-such-name.invalid")
    assert first.error is not None
    assert "no-such-name.invalid" in first.error
    assert first.not_found
    assert await resolver.resolve("no-such-name.invalid") is first  # cached
