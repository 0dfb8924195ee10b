"""What the CDN did, read from the response headers: vendor, cache status, node path, age vs TTL, request id.

Every vendor spells the same facts differently (``X-Cache: HIT TCP_MEM_HIT`` at Alibaba, ``Hit from
cloudfront``, ``cf-cache-status: HIT``, squid-style ``TCP_REFRESH_HIT`` at Akamai and Azure); this module maps
them onto one vocabulary so the findings and the reply read the same whatever CDN the customer uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from casework.diagnostics.net.httpmodel import Headers


class CacheStatus(StrEnum):
    HIT = "HIT"
    MISS = "MISS"
    EXPIRED = "EXPIRED"
    REVALIDATED = "REVALIDATED"
    BYPASS = "BYPASS"
    DYNAMIC = "DYNAMIC"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class CdnNode:
    """One ``Via`` entry: the cache's name, its tier (``L1`` edge, ``L2`` regional…) and its own H/M."""

    name: str
    layer: str | None = None
    result: str | None = None  # "HIT" / "MISS" when the entry says (Alibaba's trailing H/M), else None
    raw: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "layer": self.layer, "result": self.result, "raw": self.raw}


@dataclass(slots=True)
class CdnVerdict:
    vendor: str | None = None  # display name, e.g. "Alibaba Cloud CDN (Tengine)"; None when no CDN is seen
    vendor_id: str | None = None  # stable id: alibaba, cloudfront, cloudflare, fastly, akamai, azure, generic
    status: CacheStatus = CacheStatus.UNKNOWN
    status_header: str | None = None  # the header the status was read from, e.g. "X-Cache: HIT TCP_MEM_HIT"
    nodes: list[CdnNode] = field(default_factory=list)
    age_s: int | None = None
    ttl_s: int | None = None
    ttl_header: str | None = None
    request_id: str | None = None
    uncacheable: list[str] = field(default_factory=list)  # why the response cannot be cached, e.g. "no-store"

    def to_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "vendor_id": self.vendor_id,
            "status": self.status.value,
            "status_header": self.status_header,
            "nodes": [n.to_dict() for n in self.nodes],
            "age_s": self.age_s,
            "ttl_s": self.ttl_s,
            "ttl_header": self.ttl_header,
            "request_id": self.request_id,
            "uncacheable": self.uncacheable,
        }


VENDOR_NAMES = {
    "alibaba": "Alibaba Cloud CDN (Tengine)",
    "cloudfront": "Amazon CloudFront",
    "cloudflare": "Cloudflare",
    "fastly": "Fastly",
    "akamai": "Akamai",
    "azure": "Azure CDN / Front Door",
    "generic": "generic cache/CDN",
}

# Alibaba's Via entries: "cache15.l2cn1801[1856,200-0,M]", "kunlun9.cn210[0,200-0,H]", "kunlun7.cn210[3,0]".
_ALI_VIA = re.compile(r"^(?P<name>[A-Za-z0-9][\w.\-]*)\[(?P<inner>[^\]]*)\]$")
_ALI_TIER = re.compile(r"\.l(?P<tier>\d)", re.IGNORECASE)
# RFC 9110 Via entry: "1.1 varnish", "HTTP/1.1 abc.cloudfront.net (CloudFront)".
_STD_VIA = re.compile(r"^(?:(?:[A-Za-z]+/)?[\d.]+\s+)?(?P<name>\S+)(?:\s+\((?P<comment>[^)]*)\))?$")


def _split_via(value: str) -> list[str]:
    """Split on commas that are outside ``[...]`` and ``(...)`` (Alibaba puts commas inside brackets)."""
    parts, depth, cur = [], 0, []
    for ch in value:
        if ch in "[(":
            depth += 1
        elif ch in "])" and depth:
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def parse_via(value: str) -> list[CdnNode]:
    """The node path in header order: the first entry is nearest the origin, the last nearest the client."""
    nodes: list[CdnNode] = []
    for entry in _split_via(value):
        ali = _ALI_VIA.match(entry)
        if ali:
            name = ali["name"]
            tier = _ALI_TIER.search(name)
            # Alibaba names its tiered caches "cacheNN.l2cnNNNN"; edge (L1) nodes carry no tier mark
            # ("kunlunN.cnNNN", "cacheN.cnNNNN", "ens-cacheN.cnNNNN").
            layer = f"L{tier['tier']}" if tier else "L1"
            flags = [f.strip().upper() for f in ali["inner"].split(",")]
            result = {"H": "HIT", "M": "MISS"}.get(flags[-1]) if flags else None
            nodes.append(CdnNode(name=name, layer=layer, result=result, raw=entry))
            continue
        std = _STD_VIA.match(entry)
        name = std["name"] if std else entry
        nodes.append(CdnNode(name=name, raw=entry))
    return nodes


def _vendor(headers: Headers) -> str | None:
    server = (headers.get("Server") or "").lower()
    via = (headers.get("Via") or "").lower()
    x_cache = (headers.get("X-Cache") or "").lower()
    if any(h in headers for h in ("EagleId", "X-Swift-CacheTime", "X-Swift-SaveTime", "Ali-Swift-Global-Savetime")):
        return "alibaba"
    if server.startswith("tengine") and ("kunlun" in via or re.search(r"\.l2\w+\[", via)):
        return "alibaba"
    if "X-Amz-Cf-Id" in headers or "X-Amz-Cf-Pop" in headers or "cloudfront" in via or "cloudfront" in x_cache:
        return "cloudfront"
    if "cf-ray" in headers or "cf-cache-status" in headers or server == "cloudflare":
        return "cloudflare"
    served_by = headers.get("X-Served-By") or ""
    if "X-Fastly-Request-ID" in headers or "Fastly-Debug-Digest" in headers or served_by.startswith("cache-"):
        return "fastly"
    if (
        server.startswith("akamai")
        or any(k.lower().startswith("x-akamai") for k, _ in headers)
        or "Akamai-GRN" in headers
        or "akamaitechnologies" in x_cache
        or "akamai" in via
    ):
        return "akamai"
    if "X-Azure-Ref" in headers or "X-MSEdge-Ref" in headers or server.startswith("ecacc") or "azure" in via:
        return "azure"
    if "Via" in headers or "X-Cache" in headers or "X-Cache-Status" in headers or "Age" in headers:
        return "generic"
    return None


# Squid-style result codes (Alibaba, Akamai, Azure/Verizon put them in X-Cache). Order matters: the
# refresh codes must be tried before the plain HIT/MISS ones they contain.
_SQUID = [
    (re.compile(r"TCP_(?:REFRESH_HIT|REFRESH_UNMODIFIED|IMS_HIT|REFRESH_FAIL_HIT)"), CacheStatus.REVALIDATED),
    (re.compile(r"TCP_(?:REFRESH_MISS|REFRESH_MODIFIED|EXPIRED_\w+)"), CacheStatus.EXPIRED),
    (re.compile(r"TCP_(?:CLIENT_REFRESH_MISS|NC_MISS|SWAPFAIL_MISS)"), CacheStatus.BYPASS),
    (re.compile(r"TCP_\w*HIT"), CacheStatus.HIT),
    (re.compile(r"TCP_\w*MISS"), CacheStatus.MISS),
    (re.compile(r"TCP_DENIED"), CacheStatus.UNKNOWN),
    (re.compile(r"CONFIG_NOCACHE"), CacheStatus.BYPASS),
    (re.compile(r"UNCACHEABLE|PRIVATE_NOSTORE"), CacheStatus.DYNAMIC),
]

# One word (Cloudflare's cf-cache-status, nginx's X-Cache-Status, CloudFront's "Hit from cloudfront").
_WORDS = {
    "HIT": CacheStatus.HIT,
    "STALE": CacheStatus.HIT,  # served from cache past its TTL while refreshing: the client got a cached copy
    "UPDATING": CacheStatus.HIT,
    "REFRESHHIT": CacheStatus.REVALIDATED,
    "REVALIDATED": CacheStatus.REVALIDATED,
    "MISS": CacheStatus.MISS,
    "EXPIRED": CacheStatus.EXPIRED,
    "BYPASS": CacheStatus.BYPASS,
    "PASS": CacheStatus.BYPASS,  # Fastly/Varnish
    "DYNAMIC": CacheStatus.DYNAMIC,
    "NONE": CacheStatus.UNKNOWN,
    "UNKNOWN": CacheStatus.UNKNOWN,
}


def normalise_status(value: str) -> CacheStatus:
    """Map one cache-status header value onto :class:`CacheStatus`."""
    upper = value.upper()
    for pattern, status in _SQUID:
        if pattern.search(upper):
            return status
    # Fastly stacks one word per tier ("MISS, HIT"): the last is the edge the client talked to.
    words = [w for w in re.split(r"[\s,]+", upper) if w]
    for word in reversed(words) if "," in upper else words:
        if word in _WORDS:
            return _WORDS[word]
    return CacheStatus.UNKNOWN


_STATUS_HEADERS = ("cf-cache-status", "X-Cache-Status", "X-Cache", "X-Proxy-Cache", "X-Cache-Lookup")


def _status(headers: Headers, nodes: list[CdnNode]) -> tuple[CacheStatus, str | None]:
    for name in _STATUS_HEADERS:
        value = headers.get(name)
        if value:
            status = normalise_status(value)
            if status is not CacheStatus.UNKNOWN:
                return status, f"{name}: {value}"
    # No status header: the node nearest the client that says H/M decides (Alibaba without X-Cache).
    for node in reversed(nodes):
        if node.result:
            return CacheStatus(node.result), f"Via: {node.raw}"
    for name in _STATUS_HEADERS:
        if headers.get(name):
            return CacheStatus.UNKNOWN, f"{name}: {headers.get(name)}"
    age = _int(headers.get("Age"))
    if age is not None and age > 0:
        # A shared cache adds Age only to a stored response (RFC 9111 §5.1).
        return CacheStatus.HIT, f"Age: {age}"
    return CacheStatus.UNKNOWN, None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    m = re.match(r"\s*(\d{1,12})", value)
    return int(m.group(1)) if m else None


def cache_control(headers: Headers) -> dict[str, str | None]:
    """``Cache-Control`` directives, lower-cased names (``{"max-age": "60", "no-store": None}``)."""
    out: dict[str, str | None] = {}
    for value in headers.get_all("Cache-Control"):
        for part in value.split(","):
            name, _, arg = part.strip().partition("=")
            if name:
                out[name.strip().lower()] = arg.strip().strip('"') or None
    return out


def _ttl(headers: Headers, directives: dict[str, str | None]) -> tuple[int | None, str | None]:
    # What the CDN itself was told to keep it for wins over what the origin tells browsers.
    swift = _int(headers.get("X-Swift-CacheTime"))
    if swift is not None:
        return swift, "X-Swift-CacheTime"
    for name in ("s-maxage", "max-age"):
        value = _int(directives.get(name))
        if value is not None:
            return value, f"Cache-Control {name}"
    return None, None


def _uncacheable(headers: Headers, directives: dict[str, str | None]) -> list[str]:
    reasons = [d for d in ("no-store", "private") if d in directives]
    for name in ("s-maxage", "max-age"):
        if name in directives and _int(directives[name]) == 0:
            reasons.append(f"{name}=0")
            break
    if "Set-Cookie" in headers:
        reasons.append("Set-Cookie")
    return reasons


_REQUEST_ID_HEADERS = (
    "EagleId",
    "X-Amz-Cf-Id",
    "cf-ray",
    "X-Fastly-Request-ID",
    "X-Akamai-Request-ID",
    "Akamai-GRN",
    "X-Azure-Ref",
    "X-MSEdge-Ref",
    "X-Request-Id",
)


def analyse_cdn(headers: Headers) -> CdnVerdict:
    """Everything the response headers say about the CDN that served them."""
    vendor_id = _vendor(headers)
    nodes = parse_via(headers.get("Via") or "")
    status, status_header = _status(headers, nodes)
    directives = cache_control(headers)
    ttl, ttl_header = _ttl(headers, directives)
    request_id = next((v for h in _REQUEST_ID_HEADERS if (v := headers.get(h))), None)
    return CdnVerdict(
        vendor=VENDOR_NAMES.get(vendor_id) if vendor_id else None,
        vendor_id=vendor_id,
        status=status,
        status_header=status_header,
        nodes=nodes,
        age_s=_int(headers.get("Age")),
        ttl_s=ttl,
        ttl_header=ttl_header,
        request_id=request_id,
        uncacheable=_uncacheable(headers, directives),
    )
