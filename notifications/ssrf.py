"""Where webhooks may be sent: the URL policy against server-side request forgery.

An agency types a URL and the service POSTs to it, so without a policy any tenant could make
the service reach its own network (the database, Redis, a cloud metadata endpoint). The policy:
`https://` only, no credentials in the URL, and a host whose every address is globally
routable. Every address the host resolves to is checked, after resolution, with `ipaddress`:
what the name looks like does not matter (`2130706433`, `0x7f.1` and `127.1` are all
127.0.0.1 once resolved), only where a connection would go.

The check runs when the URL is set and again at every delivery, where the sender connects to
exactly the addresses checked here (see `sender`). `allow_private` (WEBHOOK_ALLOW_PRIVATE=1,
for development and tests) lifts the https-only rule and the address check.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from saas.db import connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (RFC 4291)
_DEFAULT_PORTS = {"https": 443, "http": 80}
# getaddrinfo has no timeout of its own, and a name's own DNS server (the agency's choice) may
# answer slowly on purpose: the lookup runs in a thread, and whoever asked waits this long. The
# thread itself stays busy until the resolver gives up (10-30 s), so one agency may have at
# most LOOKUPS_PER_AGENCY lookups unfinished in a process: past that its next is refused at
# once. Starving the others would take LOOKUP_THREADS / 2 agencies whose DNS never answers,
# all at once (signups are limited per address); a resolver with a real deadline would end it.
RESOLVE_SECONDS = 3.0
LOOKUPS_PER_AGENCY = 2
LOOKUP_THREADS = 128  # idle ones cost nothing; started only as lookups overlap
_LOOKUPS = ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="webhook-dns")
_unfinished: Counter[str] = Counter()
_unfinished_lock = threading.Lock()
# Forms a translator turns into a connection to the embedded IPv4 address; tunnels (6to4,
# Teredo) must pass the check for both their IPv6 and their embedded IPv4 address.
_TRANSLATED = frozenset({"IPv4-mapped", "NAT64"})


class UnsafeWebhookURL(ValueError):
    """A webhook URL the policy refuses; the message says what is wrong with it."""


@dataclass(frozen=True)
class Destination:
    """A URL that passed the policy, with the addresses it was checked against."""

    url: httpx.URL
    host: str  # as resolved: ASCII (IDNA) form, no brackets around IPv6
    port: int
    addresses: tuple[IPAddress, ...]


def validate_url(url: str, allow_private: bool) -> str:
    """The URL unchanged if the policy accepts it, else `UnsafeWebhookURL` naming the problem."""
    parsed = _parse(url, allow_private)
    if not allow_private:
        _check_addresses(_host(parsed), resolve_host(_host(parsed), _port(parsed)))
    return url


def resolve_destination(url: str, allow_private: bool) -> Destination:
    """Parse, resolve once and check every address: what a delivery attempt connects to."""
    parsed = _parse(url, allow_private)
    host, port = _host(parsed), _port(parsed)
    addresses = tuple(resolve_host(host, port))
    if not allow_private:
        _check_addresses(host, addresses)
    return Destination(url=parsed, host=host, port=port, addresses=addresses)


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to for a TCP connection, in the resolver's order.

    The one place the policy asks the resolver: tests replace it to play a public (or a
    rebinding) name without reaching the internet.
    """
    lookup = _submit_lookup(host, port)
    try:
        infos = lookup.result(timeout=RESOLVE_SECONDS)
    except TimeoutError as error:
        raise UnsafeWebhookURL(f"the host {host} did not resolve within "
                               f"{RESOLVE_SECONDS:g} s") from error
    except (OSError, UnicodeError) as error:
        # The same words as for a private address: which internal names exist stays unknown.
        raise UnsafeWebhookURL(f"the host {host} does not resolve to a public address") \
            from error
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    return list(dict.fromkeys(addresses))  # the same address once, order kept


def address_problem(address: IPAddress) -> str | None:
    """Why a connection to `address` is refused ("a loopback address"), or None if it may go."""
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)):
        form, ipv4 = embedded
        if problem := _category_problem(ipv4):
            return f"{problem} ({form} form of {ipv4})"
        if form in _TRANSLATED:
            return None  # the connection goes to the embedded IPv4 address: it alone decides
    return _category_problem(address)


def _category_problem(address: IPAddress) -> str | None:
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local,
         "a site-local address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "a shared address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a globally routable address"),
    )
    return next((problem for failed, problem in checks if failed), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, and the form that carries it."""
    low_32_bits = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", low_32_bits
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        return "Teredo", address.teredo[1]  # the client's address, de-obfuscated
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1
        return "IPv4-compatible", low_32_bits
    return None


def _submit_lookup(host: str, port: int) -> Future[list[Any]]:
    """getaddrinfo in the pool, counted against the agency asking until it finishes."""
    agency = str(getattr(connection, "schema_name", ""))
    with _unfinished_lock:
        if _unfinished[agency] >= LOOKUPS_PER_AGENCY:
            raise UnsafeWebhookURL(f"the host {host} cannot be looked up now: earlier lookups "
                                   "of this agency's hosts have not finished; try again later")
        _unfinished[agency] += 1
    lookup = _LOOKUPS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM,
                             proto=socket.IPPROTO_TCP)
    lookup.add_done_callback(lambda _: _finished(agency))
    return lookup


def _finished(agency: str) -> None:
    with _unfinished_lock:
        _unfinished[agency] -= 1
        if _unfinished[agency] <= 0:
            del _unfinished[agency]


def _check_addresses(host: str, addresses: Sequence[IPAddress]) -> None:
    if not addresses:
        raise UnsafeWebhookURL(f"the host {host} does not resolve to a public address")
    for address in addresses:
        if problem := address_problem(address):
            if _is_ip_literal(host):
                raise UnsafeWebhookURL(f"{host} is {problem}")
            # Not which address, nor what kind: an agency must not map the service's own
            # network (db.internal -> 10.0.0.5) through this message.
            raise UnsafeWebhookURL(f"the host {host} does not resolve to a public address")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _parse(url: str, allow_private: bool) -> httpx.URL:
    """The URL's shape: scheme, no userinfo, a host. Parsed as httpx parses it to connect."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise UnsafeWebhookURL(f"not a valid URL ({error})") from error
    allowed = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in allowed:
        raise UnsafeWebhookURL(f"the URL must start with {' or '.join(s + '://' for s in allowed)}")
    if parsed.userinfo:
        raise UnsafeWebhookURL("the URL must not contain a user name or password")
    if not parsed.raw_host:
        raise UnsafeWebhookURL("the URL has no host")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        # The resolver would take the port modulo 65536: another port than the one shown.
        raise UnsafeWebhookURL("the port must be from 1 to 65535")
    return parsed


def _host(parsed: httpx.URL) -> str:
    return parsed.raw_host.decode("ascii")


def _port(parsed: httpx.URL) -> int:
    return parsed.port or _DEFAULT_PORTS[parsed.scheme]
