"""Who is asking: the client's address, for sign-in lockouts and signup limits.

Without a proxy it is the peer of the connection. Behind the documented reverse proxy
(`HTTPS=1`) every request comes from the proxy, which appends the client's address to
`X-Forwarded-For`; only that last entry is the proxy's word, the ones before it are whatever the
client sent. Without `HTTPS=1` the header is not trusted at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    return address_in(request.META)


def address_in(meta: Mapping[str, Any]) -> str:
    """`client_address` from a request's META (or a WSGI environ)."""
    peer = str(meta.get("REMOTE_ADDR") or "")
    if not settings.HTTPS:
        return peer
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return peer


def address_group(address: str) -> str:
    """What one client can be held to: its address, or for IPv6 its /64, which a single
    client may own whole (rotating through it must not reset its signup limit)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
