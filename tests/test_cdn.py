"""The CDN verdict from response headers, vendor by vendor (header sets as each vendor documents them)."""

from __future__ import annotations

import pytest

from casework.diagnostics.net.cdn import CacheStatus, analyse_cdn, normalise_status, parse_via
from casework.diagnostics.net.httpfile import parse_http_text


def headers_of(raw: str):
    [obs] = parse_http_text(raw, source="headers.txt")
    return obs.headers


@pytest.mark.parametrize(("raw", "vendor_id", "status", "request_id"), [
    ("HTTP/1.1 200 OK\nServer: Tengine\nVia: kunlun3.cn1234[1,200-0,H]\nX-Cache: HIT TCP_HIT dirn:11:22\n"
     "EagleId: 0bc5cb2816\n", "alibaba", "HIT", "0bc5cb2816"),
    ("HTTP/1.1 200 OK\nServer: Tengine\nVia: cache7.l2et2[0,304-0,H], ens-cache3.cn1234[5,200-0,M]\n",
     "alibaba", "MISS", None),
    ("HTTP/2 200\nx-cache: RefreshHit from cloudfront\nvia: 1.1 abc.cloudfront.net (CloudFront)\n"
     "x-amz-cf-id: Zx9==\n", "cloudfront", "REVALIDATED", "Zx9=="),
    ("HTTP/2 200\nx-cache: Miss from cloudfront\nx-amz-cf-pop: NRT57-P2\nx-amz-cf-id: Ab==\n",
     "cloudfront", "MISS", "Ab=="),
    ("HTTP/2 200\nserver: cloudflare\ncf-cache-status: EXPIRED\ncf-ray: 8a1b-SJC\n", "cloudflare", "EXPIRED",
     "8a1b-SJC"),
    ("HTTP/2 200\nserver: cloudflare\ncf-cache-status: BYPASS\ncf-ray: 8a1c-SJC\n", "cloudflare", "BYPASS",
     "8a1c-SJC"),
    ("HTTP/1.1 200 OK\nX-Served-By: cache-iad-kiad7000025-IAD, cache-nrt-rjtf7700044-NRT\nX-Cache: MISS, HIT\n"
     "Via: 1.1 varnish, 1.1 varnish\n", "fastly", "HIT", None),
    ("HTTP/1.1 200 OK\nX-Served-By: cache-nrt-rjtf7700044-NRT\nX-Cache: PASS\nX-Fastly-Request-ID: f00\n",
     "fastly", "BYPASS", "f00"),
    ("HTTP/1.1 200 OK\nServer: AkamaiGHost\nX-Cache: TCP_REFRESH_MISS from a23-45-67-89.deploy.akamaitechnologies.com\n",
     "akamai", "EXPIRED", None),
    ("HTTP/1.1 200 OK\nX-Cache: TCP_MEM_HIT from a2.deploy.akamaitechnologies.com (AkamaiGHost/10.0)\n"
     "X-Akamai-Request-ID: 1a2b\n", "akamai", "HIT", "1a2b"),
    ("HTTP/1.1 200 OK\nX-Azure-Ref: 0abcDEF\nX-Cache: CONFIG_NOCACHE\n", "azure", "BYPASS", "0abcDEF"),
    ("HTTP/1.1 200 OK\nX-MSEdge-Ref: Ref A: 12\nX-Cache: TCP_REMOTE_HIT\n", "azure", "HIT", "Ref A: 12"),
    ("HTTP/1.1 200 OK\nServer: nginx\nX-Cache-Status: REVALIDATED\n", "generic", "REVALIDATED", None),
    ("HTTP/1.1 200 OK\nServer: nginx\nAge: 30\n", "generic", "HIT", None),
    ("HTTP/1.1 200 OK\nServer: nginx\nContent-Type: text/html\n", None, "UNKNOWN", None),
])
def test_vendor_status_and_request_id(raw, vendor_id, status, request_id):
    verdict = analyse_cdn(headers_of(raw))
    assert verdict.vendor_id == vendor_id
    assert verdict.status.value == status
    assert verdict.request_id == request_id


@pytest.mark.parametrize(("value", "status"), [
    ("HIT TCP_MEM_HIT dirn:-2:-2", CacheStatus.HIT),
    ("MISS TCP_MISS dirn:-2:-2", CacheStatus.MISS),
    ("HIT TCP_REFRESH_HIT dirn:0:1", CacheStatus.REVALIDATED),
    ("MISS TCP_REFRESH_MISS", CacheStatus.EXPIRED),
    ("TCP_EXPIRED_HIT", CacheStatus.EXPIRED),
    ("UNCACHEABLE", CacheStatus.DYNAMIC),
    ("Error from cloudfront", CacheStatus.UNKNOWN),
    ("stale", CacheStatus.HIT),
    ("", CacheStatus.UNKNOWN),
])
def test_normalise_status(value, status):
    assert normalise_status(value) is status


def test_via_standard_entries_keep_names_and_order():
    nodes = parse_via("1.1 varnish, HTTP/1.1 d1.cloudfront.net (CloudFront), 2.0 proxy.example:8080")
    assert [n.name for n in nodes] == ["varnish", "d1.cloudfront.net", "proxy.example:8080"]
    assert all(n.layer is None and n.result is None for n in nodes)


def test_ttl_prefers_what_the_cdn_keeps_over_browser_max_age():
    h = headers_of("HTTP/1.1 200 OK\nCache-Control: max-age=60, s-maxage=600\nX-Cache: HIT\n")
    assert analyse_cdn(h).ttl_s == 600 and analyse_cdn(h).ttl_header == "Cache-Control s-maxage"
    h = headers_of("HTTP/1.1 200 OK\nCache-Control: max-age=60\nX-Swift-CacheTime: 86400\nX-Cache: HIT\n")
    assert analyse_cdn(h).ttl_s == 86400


@pytest.mark.parametrize(("raw", "reasons"), [
    ("Cache-Control: no-store", ["no-store"]),
    ("Cache-Control: private\nSet-Cookie: a=b", ["private", "Set-Cookie"]),
    ("Cache-Control: public, max-age=0", ["max-age=0"]),
    ("Cache-Control: public, max-age=60", []),
])
def test_uncacheable_reasons(raw, reasons):
    assert analyse_cdn(headers_of(f"HTTP/1.1 200 OK\n{raw}\n")).uncacheable == reasons
