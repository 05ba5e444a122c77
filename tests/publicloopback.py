"""Run the real CLI with 127.0.0.1, and only it, standing in for the internet.

``python -m tests.publicloopback preserve ...`` is ``archiver preserve ...``
except that the private-address guard counts 127.0.0.1 (where the fake web
listens) as public. Every other loopback, private or disguised address is
judged by the real :func:`archiver.crawl.netguard.is_public`, so a run
without ``--allow-private`` can reach the fake web and must still refuse a
redirect from it to, say, ``[64:ff9b::7f00:2]``.
"""

from __future__ import annotations

import ipaddress

from archiver.cli.main import main
from archiver.crawl import netguard

STAND_IN = ipaddress.IPv4Address("127.0.0.1")


def _install() -> None:
    real = netguard.is_public

    def is_public(address: netguard.IPAddress) -> bool:
        return address == STAND_IN or real(address)

    netguard.is_public = is_public


if __name__ == "__main__":
    _install()
    main()
