"""Issue 18 item 4: through --proxy, a TLS handshake that fails inside a
CONNECT tunnel must give its connection slot back (encode/httpcore#1023:
httpcore leaves it taken). Many bad-certificate URLs through a local proxy,
then good ones: with the slots leaked, the good ones would wait for a slot
until they time out.
"""

from __future__ import annotations

import uuid

import pytest

from tests.clirun import links_to, read_manifest, run_cli, write_article
from tests.fakeweb.proxy import Proxy
from tests.fakeweb.server import closed_port

pytestmark = pytest.mark.slow


def test_bad_certificates_through_a_proxy_do_not_use_up_the_pool(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    bad = {
        f"bad{n}": fakeweb.bad_tls_url("expired", f"/page/leak-{token}-{n}")
        for n in range(40)
    }
    good = {f"good{n}": fakeweb.url(f"/page/fine-{token}-{n}") for n in range(10)}
    secure = {
        f"tls{n}": fakeweb.https_url(f"/page/fine-tls-{token}-{n}") for n in range(10)
    }
    article = write_article(
        tmp_path / "a.txt",
        fakeweb.url(f"/page/leak-article-{token}"),
        links_to({**bad, **good, **secure}),
    )
    proxy = Proxy()
    proxy.start()
    try:
        done = run_cli(
            "preserve", str(article), "--out", str(tmp_path / "out"),
            "--proxy", proxy.url, "--allow-private", "--ca-bundle", str(fakeweb.ca_pem),
            "--no-probe", "--no-requisites", "--browser", "never",
            "--concurrency", "8", "--per-host", "8", "--timeout", "5",
            timeout=300,
        )  # fmt: skip
    finally:
        proxy.stop()
    assert done.returncode == 0, done.stderr
    manifest = read_manifest(tmp_path / "out")
    for url in bad.values():
        assert (manifest[url]["outcome"], manifest[url]["reason"]) == (
            "error",
            "tls-error",
        ), manifest[url]
    for url in (*good.values(), *secure.values()):
        assert manifest[url]["outcome"] == "alive", manifest[url]


def proxied_run(tmp_path, fakeweb, proxy: Proxy, links: dict[str, str], *extra: str):
    article = write_article(
        tmp_path / "a.txt", fakeweb.url(f"/page/proxied-{uuid.uuid4().hex}"),
        links_to(links),
    )  # fmt: skip
    proxy.start()
    try:
        return run_cli(
            "preserve", str(article), "--out", str(tmp_path / "out"),
            "--proxy", proxy.url, "--allow-private", "--ca-bundle", str(fakeweb.ca_pem),
            "--no-probe", "--no-requisites", "--browser", "never",
            "--retry-base", "0.01", *extra,
            timeout=300,
        )  # fmt: skip
    finally:
        proxy.stop()


@pytest.mark.parametrize("style", ["squid", "rfc9209"])
def test_what_a_proxy_says_it_could_not_reach_is_dead_for_that_reason(
    fakeweb, tmp_path, style
):
    port = closed_port()
    links = {
        "no-name": "http://gone-for-good.invalid/page",
        "no-name-tls": "https://gone-for-good-too.invalid/page",
        "refused": f"http://127.0.0.1:{port}/page",
        "refused-tls": f"https://127.0.0.1:{port}/page",
        "fine": fakeweb.url(f"/page/through-{style}"),
    }
    done = proxied_run(tmp_path, fakeweb, Proxy(style), links)
    assert done.returncode == 0, done.stderr
    manifest = read_manifest(tmp_path / "out")
    got = {name: (manifest[url]["outcome"], manifest[url]["reason"])
           for name, url in links.items()}  # fmt: skip
    assert got == {
        "no-name": ("dead", "dns-not-found"),
        "no-name-tls": ("dead", "dns-not-found"),
        "refused": ("dead", "connection-refused"),
        "refused-tls": ("dead", "connection-refused"),
        "fine": ("alive", "ok"),
    }
    assert manifest[links["no-name"]]["attempts"] == 1  # a missing name is final
    assert "proxy" in manifest[links["no-name-tls"]]["detail"]


def test_a_proxy_that_says_nothing_makes_no_link_dead(fakeweb, tmp_path):
    links = {
        "no-name": "http://gone-for-good.invalid/page",
        "no-name-tls": "https://gone-for-good-too.invalid/page",
        "fine": fakeweb.url("/page/through-bare"),
    }
    done = proxied_run(tmp_path, fakeweb, Proxy("bare"), links)
    assert done.returncode == 0, done.stderr
    manifest = read_manifest(tmp_path / "out")
    assert manifest[links["fine"]]["outcome"] == "alive"
    for name in ("no-name", "no-name-tls"):
        assert manifest[links[name]]["outcome"] == "error", manifest[links[name]]


def test_a_proxy_that_can_resolve_nothing_is_an_outage_not_dead_links(
    fakeweb, tmp_path
):
    links = {
        "one": "http://somewhere.example/page",
        "two": "https://elsewhere.example/page",
        "local": fakeweb.url("/page/behind-a-broken-proxy"),
    }
    canary = fakeweb.url("/page/canary-behind-a-broken-proxy")
    done = proxied_run(
        tmp_path, fakeweb, Proxy("squid", resolver_down=True), links, "--canary", canary
    )
    assert done.returncode == 5, done.stderr
    manifest = read_manifest(tmp_path / "out")
    assert {entry["outcome"] for entry in manifest.values()} == {"error"}
    assert {entry["reason"] for entry in manifest.values()} == {"network-unavailable"}
