"""The client's real address and scheme behind reverse proxies, believing only trusted proxies.

`NABIJ_TRUSTED_PROXIES` lists the proxies in front of Nabij: addresses or networks, comma-separated
(`127.0.0.1,::1` by default; e.g. `10.0.0.5` or `172.16.0.0/12`). A request from one of them may say
who the client is in `X-Forwarded-For` and whether it came over HTTPS in `X-Forwarded-Proto`.

The address taken is the right-most one in `X-Forwarded-For` that is not itself a trusted proxy:
each proxy appends the address it received the request from, so everything to the left of that
address was written by the client and can say anything. Requests from any other address keep their
own address and scheme, whatever headers they carry.

`*` trusts whoever connects directly (use it only when nothing but the proxy can reach Nabij), and
then believes just the one address that proxy appended: the right-most.

The throttling of logins and class codes counts per address, so this decides whether someone can
get around it (by sending a made-up `X-Forwarded-For`) or lock out others (behind a proxy that is
not trusted, everyone has the proxy's address).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ADDRESS_CHARS = 64


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...]
    any_peer: bool = False

    @classmethod
    def parse(cls, value: str) -> TrustedProxies:
        """From NABIJ_TRUSTED_PROXIES; raises ValueError with the entry that is not an address."""
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        networks = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"NABIJ_TRUSTED_PROXIES: '{entry}' is not an IP address or network (use e.g. 127.0.0.1,10.0.0.0/8)"
                ) from None
        return cls(tuple(networks), any_peer="*" in entries)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: list[str]) -> str:
        """The client's address for a request from `peer` with these X-Forwarded-For entries."""
        if not forwarded_for or not (self.any_peer or self.trusts(peer)):
            return peer
        if self.any_peer and not self.networks:
            return forwarded_for[-1][:MAX_ADDRESS_CHARS]
        for address in reversed(forwarded_for):
            if not self.trusts(address):
                return address[:MAX_ADDRESS_CHARS]
        return forwarded_for[0][:MAX_ADDRESS_CHARS]  # every hop is a trusted proxy


def _forwarded_for(headers: list[tuple[bytes, bytes]]) -> list[str]:
    values = [value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for"]
    return [entry.strip() for value in values for entry in value.split(",") if entry.strip()]


class ProxyHeaders:
    """Pure ASGI middleware: sets scope["client"] and scope["scheme"] as described above."""

    def __init__(self, app: ASGIApp, *, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            peer, port = scope["client"]
            if self.trusted.any_peer or self.trusted.trusts(peer):
                headers = scope["headers"]
                forwarded = _forwarded_for(headers)
                if forwarded:
                    scope["client"] = (self.trusted.client(peer, forwarded), port)
                proto = next((v.decode("latin-1") for n, v in headers if n == b"x-forwarded-proto"), "")
                proto = proto.split(",")[-1].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        await self.app(scope, receive, send)
