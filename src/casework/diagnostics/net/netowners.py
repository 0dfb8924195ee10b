"""Who owns an mtr hop: a small shipped table of well-known networks (``netowners.json``).

A verdict such as "loss starts at 202.97.26.9" helps the customer only when it says *whose* router that is
(ChinaNet's backbone, not their server). A full IP-to-ASN database would be stale and large; support
engineers recognise a handful of backbone prefixes on sight, and that handful is what ships here. The table
is documented in ``docs/mtr.md``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from casework.i18n import get_language

_IP_IN_PARENS = re.compile(r"\(([0-9A-Fa-f:.]+)\)\s*$")


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    name_zh: str
    short: str  # for table cells
    short_zh: str
    asn: int | None
    kind: str  # backbone, provider-internal, private, cgnat, loopback, link-local, documentation
    matched: str  # the prefix or host-name suffix that matched

    def label(self) -> str:
        """The owner's name in the active language, with its AS number when known."""
        name = self.name_zh if get_language().startswith("zh") and self.name_zh else self.name
        return f"{name}, AS{self.asn}" if self.asn else name

    def short_label(self) -> str:
        zh = get_language().startswith("zh")
        return (self.short_zh if zh and self.short_zh else self.short) or self.label()

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "asn": self.asn, "kind": self.kind, "matched": self.matched}


@cache
def _table() -> tuple[list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Owner]], list[tuple[str, Owner]]]:
    raw = json.loads(resources.files("casework.diagnostics.net").joinpath("netowners.json").read_text("utf-8"))
    prefixes = []
    for entry in raw["prefixes"]:
        net = ipaddress.ip_network(entry["prefix"])
        prefixes.append((net, _owner(entry, entry["prefix"])))
    # Longest prefix first, so the first match is the most specific one.
    prefixes.sort(key=lambda item: item[0].prefixlen, reverse=True)
    suffixes = [(e["suffix"].lower().lstrip("."), _owner(e, e["suffix"])) for e in raw["host_suffixes"]]
    return prefixes, suffixes


def _owner(entry: dict, matched: str) -> Owner:
    return Owner(name=entry["name"], name_zh=entry.get("name_zh") or "", short=entry.get("short") or "",
                 short_zh=entry.get("short_zh") or "", asn=entry.get("asn"),
                 kind=entry["kind"], matched=matched)


def address_of(host: str) -> str | None:
    """The IP address in a hop's host field: ``1.2.3.4``, or ``name (1.2.3.4)`` as ``mtr -b`` prints it."""
    host = host.strip()
    m = _IP_IN_PARENS.search(host)
    candidate = m.group(1) if m else host
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def lookup(host: str | None) -> Owner | None:
    """The owner of a hop given its host field (an address, a router name, or both); None when unknown."""
    if not host:
        return None
    prefixes, suffixes = _table()
    addr = address_of(host)
    if addr is not None:
        ip = ipaddress.ip_address(addr)
        for net, owner in prefixes:
            if ip.version == net.version and ip in net:
                return owner
    name = host.split(" (", 1)[0].strip().lower().rstrip(".")
    for suffix, owner in suffixes:
        if name == suffix or name.endswith("." + suffix):
            return owner
    return None
