"""``casework http --from-file``: the seed's httpstat paste, and real curl output captured from local servers."""

from __future__ import annotations

import json
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.diagnostics.net.http import ProbeOptions, probe
from casework.diagnostics.net.httpfile import parse_http_text, read_http_file
from casework.diagnostics.net.httpreport import build_report
from casework.diagnostics.report import InputError
from conftest import DATA
from localservers import BaseHandler, OkHandler, RedirectHandler, closed_port, serve
from services import require_binary

SEED = DATA / "http" / "seed_httpstat.txt"


class CachedHandler(BaseHandler):
    """A CloudFront-style cached answer, so the curl captures carry CDN headers."""

    def answer(self) -> None:
        self.respond(200, b"cached page\n", {
            "X-Cache": "Hit from cloudfront",
            "Via": "1.1 2f1e0c3b0a.cloudfront.net (CloudFront)",
            "X-Amz-Cf-Pop": "HKG62-C1",
            "X-Amz-Cf-Id": "q2W3e4R5t6Y7u8I9o0P-test==",
            "Age": "42",
            "Cache-Control": "public, max-age=300",
        })


def curl(*args: str) -> str:
    """Run the real curl as a customer would and return what they would paste (stdout and stderr)."""
    binary = require_binary("curl")
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
    return done.stderr + done.stdout


# ---- the seed ------------------------------------------------------------------------------------------------


def test_seed_httpstat_gives_the_engineers_verdict():
    [obs] = read_http_file(str(SEED))
    report = build_report(obs)
    doc = report.to_dict()
    assert doc["url"] == "https://cdn.emarineonline.com.cn"
    assert doc["address"] == "117.25.156.167" and doc["port"] == 443
    assert doc["status"] == 200
    assert doc["timings_ms"] == {"dns": 23, "connect": 20, "tls": 234, "server": 25, "transfer": 1, "total": 305}
    cdn = doc["cdn"]
    assert cdn["vendor"] == "Alibaba Cloud CDN (Tengine)"
    assert cdn["status"] == "HIT"
    nodes = [(n["name"], n["layer"], n["result"]) for n in cdn["nodes"]]
    assert nodes == [
        ("cache15.l2cn1801", "L2", "MISS"),
        ("cache12.l2cn1801", "L2", None),
        ("cache12.l2cn1801", "L2", None),
        ("kunlun9.cn210", "L1", "HIT"),
        ("kunlun7.cn210", "L1", None),
    ]
    assert (cdn["age_s"], cdn["ttl_s"]) == (6, 3600)
    assert cdn["request_id"] == "6e5084a516051624662385728e"
    assert [f["code"] for f in doc["findings"]] == ["http.slow-tls"]
    tls = doc["findings"][0]
    assert tls["evidence"]["ms"] == 234 and tls["evidence"]["total_ms"] == 305
    assert tls["severity"] == "high"


def test_seed_httpstat_from_cumulative_lines_only():
    # Without the phase row, the cumulative marks give the same phases (within httpstat's own rounding).
    text = SEED.read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("["))
    [obs] = parse_http_text(text, source="cut")
    t = obs.timings
    assert (t.dns, t.connect, t.tls, t.server, t.transfer, t.total) == (23, 21, 234, 26, 1, 305)


# ---- real curl captures ---------------------------------------------------------------------------------------


def test_curl_verbose_over_tls():
    with serve(CachedHandler, tls=True) as srv:
        text = curl("-sv", "--cacert", srv.ca_file, srv.base_url + "/page?x=1")
    [obs] = parse_http_text(text, source="curl-v.txt")
    assert obs.url == srv.base_url + "/page?x=1"
    assert obs.address == "127.0.0.1" and obs.port == srv.port
    assert obs.method == "GET" and obs.status == 200
    doc = build_report(obs).to_dict()
    assert doc["cdn"]["vendor"] == "Amazon CloudFront"
    assert doc["cdn"]["status"] == "HIT" and doc["cdn"]["age_s"] == 42 and doc["cdn"]["ttl_s"] == 300
    assert doc["cdn"]["request_id"] == "q2W3e4R5t6Y7u8I9o0P-test=="
    assert doc["timings_ms"]["total"] is None  # curl -v prints no timings


def test_curl_verbose_following_a_redirect_gives_one_report_per_response():
    with serve(RedirectHandler) as srv:
        text = curl("-svL", srv.base_url + "/app")
    found = parse_http_text(text, source="redirect.txt")
    assert [o.status for o in found] == [302, 200]
    assert [o.source for o in found] == ["redirect.txt#1", "redirect.txt#2"]
    assert found[0].headers.get("Location") == "/login"
    assert found[1].url == srv.base_url + "/login"


def test_curl_head_output():
    with serve(CachedHandler) as srv:
        text = curl("-sI", srv.base_url + "/")
    [obs] = parse_http_text(text, source="curl-I.txt")
    assert obs.status == 200 and obs.http_version == "1.1"
    assert obs.headers.get("x-cache") == "Hit from cloudfront"


def test_curl_w_json_matches_a_live_probe_shape():
    with serve(CachedHandler) as srv:
        text = curl("-s", "-o", "/dev/null", "-w", "%{json}\n%{header_json}", srv.base_url + "/")
    [obs] = parse_http_text(text, source="curl-w.json")
    assert obs.status == 200 and obs.address == "127.0.0.1"
    doc = build_report(obs).to_dict()
    timings = doc["timings_ms"]
    assert timings["tls"] is None  # plain http
    assert all(timings[p] is not None and timings[p] >= 0 for p in ("dns", "connect", "server", "transfer"))
    raw = json.loads(text.split("\n", 1)[0])
    assert timings["total"] == pytest.approx(raw["time_total"] * 1000, abs=0.001)
    assert doc["cdn"]["vendor"] == "Amazon CloudFront"  # from %{header_json}


def test_curl_head_then_w_json_in_one_paste():
    with serve(OkHandler, tls=True) as srv:
        text = curl("-sI", "--cacert", srv.ca_file, "-w", "%{json}", srv.base_url + "/")
    [obs] = parse_http_text(text, source="paste")
    assert obs.status == 200 and obs.headers.get("Content-Length") == "3"
    assert obs.timings.tls is not None and obs.timings.tls > 0


def test_curl_w_json_of_a_refused_connection():
    port = closed_port()
    text = curl("-s", "-o", "/dev/null", "-w", "%{json}", f"http://127.0.0.1:{port}/")
    [obs] = parse_http_text(text, source="refused.json")
    assert obs.status is None and obs.error and obs.failed_phase == "connect"
    assert "http.request-failed" in [f.code for f in build_report(obs).findings]


def test_paste_and_probe_agree_on_headers_of_the_same_server():
    with serve(CachedHandler) as srv:
        live = probe(srv.base_url + "/", ProbeOptions())
        pasted = parse_http_text(curl("-si", srv.base_url + "/"), source="curl-i")[0]
    drop = {"date"}
    assert [(n, v) for n, v in live.headers if n.lower() not in drop] == [
        (n, v) for n, v in pasted.headers if n.lower() not in drop]


def test_several_json_objects_in_an_array():
    doc = [{"response_code": 200, "time_namelookup": 0.001, "time_connect": 0.002, "time_appconnect": 0,
            "time_pretransfer": 0.002, "time_starttransfer": 0.010, "time_total": 0.011, "scheme": "HTTP",
            "url_effective": "http://a/"},
           {"http_code": "404", "time_total": 0.5}]
    found = parse_http_text(json.dumps(doc), source="arr.json")
    assert [o.status for o in found] == [200, 404]
    assert found[0].timings.server == pytest.approx(8.0)
    assert found[1].timings.total == pytest.approx(500.0)


# ---- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "where"), [
    ("", "f.txt"),
    ("\n\n   \n", "f.txt"),
    ("hello\nthis is not http\n", "f.txt:1"),
    ('{"time_total": 0.1}\n{"time_total": ', "f.txt:2"),
    ('{"response_code": 200, "time_total": -1}', "f.txt:1"),
    ('[1, 2]', "f.txt:1"),
])
def test_bad_input_is_one_clean_line(text, where):
    with pytest.raises(InputError) as exc:
        parse_http_text(text, source="f.txt")
    assert exc.value.one_line().startswith(where + ":")
    assert "\n" not in exc.value.one_line()


# ---- fuzzing --------------------------------------------------------------------------------------------------

_LINES = st.sampled_from([
    "HTTP/1.1 200 OK", "HTTP/2 404", "HTTP/1.1 100 Continue", "< HTTP/2 503 ", "> GET / HTTP/1.1",
    "> Host: example.com", "* Connected to example.com (1.2.3.4) port 443 (#0)", "Connected to 1.2.3.4:443",
    "Via: cache1.l2cn1[1,200-0,M], kunlun1.cn2[0,200-0,H]", "X-Cache: HIT TCP_MEM_HIT", "Age: 99999999999999",
    "Cache-Control: max-age=", "  DNS Lookup   TCP Connection   TLS Handshake   Server Processing   Content Transfer",
    "[  1ms | 2ms | 3ms | 4ms | 5ms ]", "[ 1ms | 2ms | 3ms | 4ms ]", "namelookup:1ms", "total:9ms",
    '{"time_total": 1e400}', '{"response_code": 999999}', '{"x": [1]}', "{", "}", "D:\\>httpstat https://a.b",
    "", " folded", "\x1b[32mHTTP/1.1 200 OK\x1b[0m",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_LINES, st.text(max_size=40)), max_size=25))
def test_fuzz_any_paste_gives_reports_or_a_clean_error(lines):
    text = "\n".join(lines)
    try:
        found = parse_http_text(text, source="fuzz")
    except InputError as exc:
        assert "\n" not in exc.one_line()
        return
    assert found
    for obs in found:
        build_report(obs).to_dict()


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["time_total", "time_connect", "time_namelookup", "time_pretransfer",
                         "time_starttransfer", "response_code", "http_code", "remote_ip", "remote_port",
                         "url_effective", "scheme", "exitcode", "errormsg", "http_version", "x"]),
        children, max_size=8),
    max_leaves=20,
))
def test_fuzz_any_json_gives_reports_or_a_clean_error(value):
    try:
        text = json.dumps(value)
    except ValueError:
        return
    try:
        found = parse_http_text(text, source="fuzz.json")
    except InputError as exc:
        assert "\n" not in exc.one_line()
        return
    for obs in found:
        build_report(obs).to_dict()
