"""Reading a proxy's word that it could not reach the destination.

RFC 9209's Proxy-Status (a structured-field list, RFC 8941) and Squid's
X-Squid-Error, with the error types the RFC registers; a proxy's own trouble
is never read as the site's.
"""

from __future__ import annotations

import pytest

from archiver.crawl.proxysignals import head_fields, read
from archiver.models import FailureKind as K


def kind(*fields: tuple[str, str]) -> K | None:
    signal = read([(name.encode(), value.encode()) for name, value in fields])
    return signal.kind if signal is not None else None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('proxy.example; error=dns_error; rcode="NXDOMAIN"', K.DNS),
        ('proxy.example; error=dns_error; rcode="SERVFAIL"', K.CONNECT),
        ("proxy.example; error=dns_error", K.CONNECT),
        ("proxy.example; error=dns_timeout", K.CONNECT),
        ("proxy.example; error=destination_not_found", K.DNS),
        ("proxy.example; error=connection_refused", K.REFUSED),
        ("proxy.example; error=connection_timeout", K.CONNECT_TIMEOUT),
        ("proxy.example; error=connection_read_timeout", K.TIMEOUT),
        ("proxy.example; error=connection_terminated", K.RESET),
        ("proxy.example; error=tls_certificate_error", K.CERTIFICATE),
        ("proxy.example; error=tls_protocol_error", K.TLS),
        # the proxy's own trouble says nothing about the site
        ("proxy.example; error=proxy_internal_error", None),
        ("proxy.example; error=proxy_configuration_error", None),
        ("proxy.example; error=connection_limit_reached", None),
        ("proxy.example; error=proxy_loop_detected", None),
        # no error at all: a proxy that handled the response fine
        ("proxy.example; received-status=200", None),
        # the member nearest the origin (the first) is the one that tried
        ("near; error=connection_refused, edge; error=http_protocol_error", K.REFUSED),
        ("origin-side, edge; error=connection_refused", K.REFUSED),
        # not a structured field: nothing to read
        ("proxy.example; error=", None),
        ("@@@", None),
    ],
)  # fmt: skip
def test_proxy_status_error_types(value, expected):
    assert kind(("Proxy-Status", value)) == expected


def test_proxy_status_split_over_two_lines_is_one_list():
    fields = (("Proxy-Status", "origin-side; error=dns_error; rcode=\"NXDOMAIN\""),
              ("proxy-status", "edge"))  # fmt: skip
    assert kind(*fields) is K.DNS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ERR_DNS_FAIL 0", K.DNS),
        ("ERR_CONNECT_FAIL 111", K.REFUSED),
        ("ERR_CONNECT_FAIL 110", K.CONNECT_TIMEOUT),
        ("ERR_CONNECT_FAIL 113", K.CONNECT),
        ("ERR_CONNECT_FAIL", K.CONNECT),
        ("ERR_READ_TIMEOUT 0", K.TIMEOUT),
        ("ERR_SECURE_CONNECT_FAIL 71", K.TLS),
        ("ERR_ACCESS_DENIED 0", None),
        ("ERR_CACHE_ACCESS_DENIED 0", None),
        ("ERR_INVALID_URL 0", None),
    ],
)
def test_squid_error_pages(value, expected):
    assert kind(("X-Squid-Error", value)) == expected


def test_the_standard_field_wins_and_plain_answers_say_nothing():
    both = (("X-Squid-Error", "ERR_CONNECT_FAIL 111"),
            ("Proxy-Status", 'p; error=dns_error; rcode="NXDOMAIN"'))  # fmt: skip
    assert kind(*both) is K.DNS
    assert kind(("Content-Type", "text/html"), ("Server", "squid")) is None


def test_a_refusals_head_gives_its_fields():
    head = (b"HTTP/1.1 503 Service Unavailable\r\nServer: squid\r\n"
            b"X-Squid-Error: ERR_DNS_FAIL 0\r\n\r\n")  # fmt: skip
    assert head_fields(head) == [
        (b"Server", b"squid"),
        (b"X-Squid-Error", b"ERR_DNS_FAIL 0"),
    ]
    signal = read(head_fields(head))
    assert signal is not None
    assert (signal.kind, signal.said) == (K.DNS, "X-Squid-Error: ERR_DNS_FAIL 0")
