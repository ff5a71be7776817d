"""SSRF guard for outgoing HTTP: which resolved addresses an ``http`` action may reach.

The check runs on the *resolved* address at connect time, inside the socket layer of the
HTTP client (:class:`GuardedBackend`), so it holds for every redirect hop and cannot be
bypassed by DNS rebinding: the name is resolved once, each address is checked, and the
connection is made to that checked address, never to the name again. Numeric host forms
(``2130706433``, ``0x7f000001``, ``017700000001``, ``127.1``) are resolved the way the
operating system reads them and then checked like any other address.

Refused unless allow-listed (``GNOMON_HTTP_ALLOW``): loopback, private, link-local,
unspecified, multicast, shared (CGNAT, 100.64.0.0/10), reserved and any other address that
is not globally routable. IPv4 addresses embedded in IPv6 (IPv4-mapped, 6to4, NAT64) are
judged by the IPv4 address they lead to.

Allow-list entries are either networks/addresses (``10.0.0.0/8``, ``127.0.0.1``, ``::1``),
matched against the resolved address, or host names (``intranet.example``,
``.example.org`` for every subdomain), matched against the host written in the URL. Cloud
metadata addresses (``169.254.169.254``, ``fd00:ec2::254``…) are a stricter case: a broad
network such as ``0.0.0.0/0`` does not open them; only the exact address or an allow-listed
host name does.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore

from gnomon.errors import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean…
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddress(Exception):
    """A connection was refused by the guard; the message says which address and why."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address actually leads to, if it embeds one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_category(ip: IPAddress) -> str | None:
    """Why ``ip`` is not public (e.g. ``"loopback address"``), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = address_category(embedded)
            return None if inner is None else f"{inner} (as {embedded})"
    checks = (
        (ip in METADATA_ADDRESSES, "cloud metadata"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "shared (CGNAT)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "non-global"),
    )
    return next((f"{name} address" for hit, name in checks if hit), None)


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which non-public addresses and host names are allowed (see the module docstring)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_allow_list(cls, entries: Iterable[str]) -> NetworkPolicy:
        """Split ``GNOMON_HTTP_ALLOW`` entries into networks and host names.

        Raises :class:`~gnomon.errors.ConfigError` for an entry with a ``/`` that is not
        a network (``10.0.0.0/33``).
        """
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            key = _host_key(entry)
            if not key:
                continue
            try:
                networks.append(ipaddress.ip_network(key, strict=False))
            except ValueError:
                if "/" in key:  # meant as a network: a typo must not pass silently
                    raise ConfigError(
                        f"GNOMON_HTTP_ALLOW: {entry!r} is not a valid address or network"
                    ) from None
                hosts.add(key.removeprefix("*"))
        return cls(tuple(networks), frozenset(hosts))

    def host_allowed(self, host: str) -> bool:
        key = _host_key(host)
        return any(
            key == entry or (entry.startswith(".") and key.endswith(entry)) for entry in self.hosts
        )

    def refusal(self, ip: IPAddress) -> str | None:
        """Why a connection to ``ip`` is refused, or None when it is allowed."""
        category = address_category(ip)
        if category is None:
            return None
        for net in self.networks:
            if ip.version != net.version or ip not in net:
                continue
            exact = net.prefixlen == net.max_prefixlen
            if exact or ip not in METADATA_ADDRESSES:
                return None
        return category

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` to connect to, every one of them checked.

        Raises :class:`BlockedAddress` if any resolved address is refused: a name that
        resolves to both a public and a private address is treated as an attack, not as
        a choice. Raises :class:`httpcore.ConnectError` if the name does not resolve.
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve host {host!r}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if self.host_allowed(host):
            return addresses
        for text in addresses:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            reason = self.refusal(ip)
            if reason is not None:
                shown = host if host == text else f"{host} (resolves to {text})"
                raise BlockedAddress(
                    f"refused to connect to {shown}: {reason}; allow it with "
                    "GNOMON_HTTP_ALLOW if this is intended"
                )
        return addresses


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket layer with every TCP connection checked by a :class:`NetworkPolicy`.

    It connects to the checked IP address itself; TLS still verifies the certificate
    against the host name of the URL, which httpcore passes separately.
    """

    def __init__(self, policy: NetworkPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in self._policy.resolve(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc  # try the next checked address, as create_connection would
        assert last is not None  # getaddrinfo never returns an empty list without raising
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("refused to connect to a unix socket")
