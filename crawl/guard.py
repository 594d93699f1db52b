"""Network guard: a crawler must not be turned against private networks (SSRF).

Every hop is checked: the scheme must be http(s) and every address the host resolves to must be
public, unless it lies inside one of `crawl.allow_networks`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from pipeline.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: list[str] | str | None) -> list[Network]:
    if not cidrs:
        return []
    if isinstance(cidrs, str):
        cidrs = [cidrs]
    try:
        return [ipaddress.ip_network(c, strict=False) for c in cidrs]
    except ValueError as exc:
        raise ConfigError(f"crawl.allow_networks: {exc}") from None


def address_problem(address: str, allowed: list[Network]) -> str | None:
    """Why this address may not be fetched, or None when it may."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed if net.version == ip.version):
        return None
    for flag in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{flag}"):
            return (
                f"{ip} is a {flag.replace('_', '-')} address; "
                "add its network to crawl.allow_networks to crawl it"
            )
    if not ip.is_global:
        return f"{ip} is not a global address; add its network to crawl.allow_networks to crawl it"
    return None


async def check_url(url: str, allowed: list[Network]) -> tuple[str | None, str | None]:
    """(reason, detail) when the URL must not be fetched, else (None, None). Resolves the host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "blocked_scheme", f"scheme {parts.scheme!r} is not http or https"
    host = parts.hostname or ""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 80, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return "dns_error", f"{host}: {exc}"
        addresses = sorted({info[4][0] for info in infos})
    for address in addresses:
        problem = address_problem(address, allowed)
        if problem:
            return "blocked_network", problem
    return None, None
