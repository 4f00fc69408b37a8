"""Where a webhook may be delivered: public addresses only, unless a configured network allows
more (WEBHOOK_ALLOWED_NETWORKS, e.g. an intranet receiver).

An enterprise's manager chooses the URL, and the worker that POSTs to it sits beside MongoDB,
Redis and, in a cloud, the metadata service: without this a webhook reads or pokes them
(server-side request forgery). The check is made on the address actually connected to —
`connect` resolves the name, refuses every address outside the rule and connects to one that
passed — so a name that resolves to a public address when set and to a private one when
delivered (DNS rebinding) is refused too. A literal address is also checked when the URL is
set, to refuse it at once.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from collections.abc import Iterable
from functools import cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedDestination(OSError):
    """The receiver's address is not one a webhook may reach."""


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def permitted(address: Address, allowed: tuple[Network, ...]) -> bool:
    """A public address, or one inside an allowed network."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return True
    return address.is_global and not address.is_multicast


def literal(host: str) -> Address | None:
    """The address a URL's host names literally (`localhost` is one), or None for a name."""
    if host.lower().rstrip(".") == "localhost":
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def connect(host: str, port: int, timeout, allowed: tuple[Network, ...]) -> socket.socket:
    """A connection to `host`, only through addresses the rule permits."""
    refused, last_error = [], None
    for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if not permitted(address, allowed):
            refused.append(str(address))
            continue
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    if last_error is not None:
        raise last_error
    raise RefusedDestination(
        f"{host} resolves only to addresses a webhook may not reach: {refused}"
    )


@cache
def opener(allowed: tuple[Network, ...]) -> urllib.request.OpenerDirector:
    """A urllib opener whose connections go through `connect`; it follows no redirect (a
    redirect is an answer, not a place to resend a signed message to) and no proxy from the
    environment (the check would then judge the proxy's address, not the receiver's)."""

    def guarded(base):
        class Connection(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self._create_connection = lambda address, timeout, source=None: connect(
                    address[0], address[1], timeout, allowed
                )

        return Connection

    http_class, https_class = (
        guarded(http.client.HTTPConnection),
        guarded(http.client.HTTPSConnection),
    )

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(http_class, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(https_class, req, context=self._context)

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    return urllib.request.build_opener(urllib.request.ProxyHandler({}), Http, Https, NoRedirects)
