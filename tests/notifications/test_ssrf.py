"""The webhook URL policy: https only, no credentials, and never an address inside a network
(loopback, private, link-local, multicast, reserved, shared), whatever the name looks like."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import pytest

from notifications import ssrf
from notifications.ssrf import UnsafeWebhookURL, validate_url
from saas.db import connection
from tests.notifications.conftest import PUBLIC_V4, PUBLIC_V6, FakeResolver


def refusal(url: str, allow_private: bool = False) -> str:
    with pytest.raises(UnsafeWebhookURL) as refused:
        validate_url(url, allow_private)
    return str(refused.value)


def test_a_refusal_is_a_value_error_so_callers_can_treat_it_as_bad_input() -> None:
    assert issubclass(UnsafeWebhookURL, ValueError)


def test_an_https_url_of_a_public_host_is_accepted_unchanged(resolver: FakeResolver) -> None:
    resolver.answers["hooks.example"] = [PUBLIC_V4, PUBLIC_V6]
    url = "https://hooks.example/budget/events?agency=7"

    assert validate_url(url, allow_private=False) == url


def test_a_port_is_allowed(resolver: FakeResolver) -> None:
    resolver.answers["hooks.example"] = [PUBLIC_V4]

    assert validate_url("https://hooks.example:8443/", False) == "https://hooks.example:8443/"


@pytest.mark.parametrize("url", ["http://hooks.example/", "ftp://hooks.example/", "hooks.example"])
def test_anything_but_https_is_refused(url: str, resolver: FakeResolver) -> None:
    resolver.answers["hooks.example"] = [PUBLIC_V4]

    assert "https://" in refusal(url)


def test_credentials_in_the_url_are_refused_even_in_development() -> None:
    assert "user name or password" in refusal("https://me:secret@hooks.example/", True)
    assert "user name or password" in refusal("https://token@hooks.example/", False)


@pytest.mark.parametrize("url", ["https:///events", "https://", "https://:443/"])
def test_a_url_without_a_host_is_refused(url: str) -> None:
    assert "no host" in refusal(url) or "not a valid URL" in refusal(url)


def test_a_host_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)

    assert refusal("https://nowhere.example/") == (
        "the host nowhere.example does not resolve to a public address")


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata endpoint
        ("100.64.0.1", "shared"),
        ("100.100.100.200", "shared"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("192.0.2.10", "private"),  # documentation: never a real endpoint
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 of 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo of 10.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("fec0::1", "site-local"),  # deprecated, and not global
    ],
)
def test_a_host_resolving_to_an_inside_address_is_refused_without_saying_which(
    address: str, problem: str, resolver: FakeResolver
) -> None:
    """The message names the host, not the address nor its kind: an agency must not map the
    service's own network through it."""
    resolver.answers["hooks.example"] = [address]

    message = refusal("https://hooks.example/")

    assert message == "the host hooks.example does not resolve to a public address"
    assert problem in (ssrf.address_problem(ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("port", ["0", "65536", "74736", "99999"])
def test_a_port_outside_1_to_65535_is_refused(port: str) -> None:
    with pytest.raises(UnsafeWebhookURL, match="the port must be from 1 to 65535"):
        validate_url(f"http://127.0.0.1:{port}/wrap", allow_private=True)


def test_one_inside_address_among_public_ones_is_enough_to_refuse(resolver: FakeResolver) -> None:
    resolver.answers["hooks.example"] = [PUBLIC_V4, PUBLIC_V6, "10.0.0.5"]

    assert "does not resolve to a public address" in refusal("https://hooks.example/")


@pytest.mark.parametrize(
    "address",
    [PUBLIC_V4, PUBLIC_V6, f"::ffff:{PUBLIC_V4}", "64:ff9b::5db8:d822", "2002:5db8:d822::1"],
)
def test_ipv6_forms_of_a_public_address_are_judged_by_that_address(
    address: str, resolver: FakeResolver
) -> None:
    resolver.answers["hooks.example"] = [address]

    assert validate_url("https://hooks.example/", False) == "https://hooks.example/"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://2130706433/",  # 127.0.0.1 as one number
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://017700000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://[0:0:0:0:0:ffff:127.0.0.1]/",
        "https://LOCALHOST/",
        "https://169.254.169.254/latest/meta-data/",
        "https://0/",
    ],
)
def test_numeric_and_spelled_out_forms_of_inside_addresses_are_refused(url: str) -> None:
    # The real resolver: numeric forms and localhost never leave the machine.
    assert "address" in refusal(url)


def test_allow_private_lifts_https_only_and_the_address_check() -> None:
    for url in ("http://localhost:9000/hook", "http://10.0.0.1/", "https://127.0.0.1:8443/"):
        assert validate_url(url, allow_private=True) == url


def test_allow_private_still_wants_http_or_https() -> None:
    assert "http://" in refusal("ftp://localhost/", allow_private=True)


def test_a_destination_carries_every_checked_address_in_the_resolvers_order(
    resolver: FakeResolver,
) -> None:
    resolver.answers["hooks.example"] = [PUBLIC_V6, PUBLIC_V4]

    destination = ssrf.resolve_destination("https://hooks.example:8443/x", False)

    assert destination.host == "hooks.example"
    assert destination.port == 8443
    assert [str(a) for a in destination.addresses] == [PUBLIC_V6, PUBLIC_V4]


def test_an_international_host_name_is_resolved_in_its_ascii_form(
    resolver: FakeResolver,
) -> None:
    resolver.answers["xn--bcher-kva.example"] = [PUBLIC_V4]

    assert validate_url("https://bücher.example/", False) == "https://bücher.example/"


def test_a_name_that_resolves_too_slowly_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup may not hold a web worker (or a delivery) for the resolver's own timeout."""
    release = threading.Event()

    def slow_lookup(*args: object, **kwargs: object) -> list[object]:
        release.wait(10)
        return []

    monkeypatch.setattr(ssrf, "RESOLVE_SECONDS", 0.2)
    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    try:
        with pytest.raises(UnsafeWebhookURL, match=r"did not resolve within 0\.2 s"):
            ssrf.resolve_host("slow.example", 443)
    finally:
        release.set()


def test_one_agency_cannot_hold_every_lookup_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups its own DNS server never answers keep threads busy after their callers gave up:
    past LOOKUPS_PER_AGENCY unfinished, that agency's next lookup is refused at once, and
    another agency's still gets a thread."""
    release = threading.Event()

    def lookup(host: str, *args: object, **kwargs: object) -> list[object]:
        if host.startswith("slow"):
            release.wait(10)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 443))]

    monkeypatch.setattr(ssrf, "RESOLVE_SECONDS", 0.2)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    try:
        connection.set_schema("attacker_agency")
        for n in range(ssrf.LOOKUPS_PER_AGENCY):
            with pytest.raises(UnsafeWebhookURL, match="did not resolve within"):
                ssrf.resolve_host(f"slow{n}.example", 443)
        started = time.perf_counter()
        with pytest.raises(UnsafeWebhookURL, match="cannot be looked up now"):
            ssrf.resolve_host("slow-again.example", 443)
        assert time.perf_counter() - started < 0.1  # refused without waiting
        connection.set_schema("other_agency")
        assert ssrf.resolve_host("hooks.example", 443) == [ipaddress.ip_address("93.184.215.14")]
    finally:
        release.set()
        connection.set_schema_to_public()
    deadline = time.monotonic() + 5
    while ssrf._unfinished.get("attacker_agency") and time.monotonic() < deadline:
        time.sleep(0.01)
    connection.set_schema("attacker_agency")
    try:
        assert ssrf.resolve_host("hooks.example", 443)  # its lookups finished: allowed again
    finally:
        connection.set_schema_to_public()
