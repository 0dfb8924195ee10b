"""``casework http`` against real HTTP(S) servers on 127.0.0.1 (tests/localservers.py)."""

from __future__ import annotations

import time

import pytest

from casework.diagnostics.net.http import ProbeOptions, probe, probe_compare
from casework.diagnostics.net.httpmodel import PHASES
from casework.diagnostics.net.httpreport import build_report
from casework.diagnostics.report import InputError
from localservers import (
    BaseHandler,
    HeadRejectingHandler,
    NotFoundHandler,
    OkHandler,
    RedirectHandler,
    ServerErrorHandler,
    StallingHandler,
    closed_port,
    serve,
)


def codes(report) -> list[str]:
    return [f.code for f in report.findings]


class EchoHandler(BaseHandler):
    """Answers with what it received, so a test can see the method, Host and headers really sent."""

    def answer(self) -> None:
        self.respond(200, b"echo\n", {
            "X-Echo-Method": self.command,
            "X-Echo-Host": self.headers.get("Host", ""),
            "X-Echo-Probe": self.headers.get("X-Probe", ""),
        })

    def do_PUT(self) -> None:
        self.answer()


class AlibabaMissHandler(BaseHandler):
    """What an Alibaba Cloud CDN edge sends on a miss at both tiers."""

    def answer(self) -> None:
        self.respond(200, b"<html>page</html>\n", {
            "Server": "Tengine",
            "Content-Type": "text/html",
            "Via": "cache3.l2cn1801[120,200-0,M], cache3.l2cn1801[121,0], kunlun2.cn210[140,200-0,M], kunlun2.cn210[141,0]",
            "X-Cache": "MISS TCP_MISS dirn:-2:-2",
            "X-Swift-CacheTime": "600",
            "X-Swift-SaveTime": "Thu, 12 Nov 2020 06:27:40 GMT",
            "EagleId": "7ae0a29b16051624662385728e",
            "Age": "0",
        })


class CloudflarePrivateHandler(BaseHandler):
    """A dynamic page behind Cloudflare that the origin marks private and sets a cookie on."""

    def answer(self) -> None:
        self.respond(200, b"hello user\n", {
            "Server": "cloudflare",
            "CF-RAY": "7d1a2b3c4d5e6f70-HKG",
            "cf-cache-status": "DYNAMIC",
            "Cache-Control": "private, max-age=0",
            "Set-Cookie": "session=abc; HttpOnly",
        })


class SlowServerHandler(BaseHandler):
    """Thinks for 300 ms before the first byte: the time is server processing."""

    def answer(self) -> None:
        time.sleep(0.3)
        self.respond(200, b"done\n")


class SlowBodyHandler(BaseHandler):
    """Sends the headers and the first bytes at once, the rest 300 ms later: the time is content transfer."""

    def answer(self) -> None:
        body = b"x" * 4096
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:100])
        self.wfile.flush()
        time.sleep(0.3)
        self.wfile.write(body[100:])


def test_https_probe_measures_every_phase_and_finds_nothing():
    with serve(OkHandler, tls=True) as srv:
        obs = probe(srv.base_url + "/", ProbeOptions(ca_file=srv.ca_file))
    assert obs.error is None
    assert obs.status == 200
    assert obs.address == "127.0.0.1" and obs.port == srv.port
    t = obs.timings
    assert all(t.phase(p) is not None and t.phase(p) >= 0 for p in PHASES)
    # The phases partition the total, as in httpstat.
    assert sum(t.phase(p) for p in PHASES) == pytest.approx(t.total, abs=0.01)
    report = build_report(obs)
    doc = report.to_dict()
    assert doc["kind"] == "http" and doc["url"] == srv.base_url + "/"
    assert doc["headers"]["Content-Length"] == "3"
    assert doc["cdn"]["vendor"] is None
    assert not any(c.startswith(("http.slow", "http.error", "cdn.")) for c in codes(report))


def test_plain_http_has_no_tls_phase():
    with serve(OkHandler) as srv:
        obs = probe(srv.base_url + "/", ProbeOptions())
    assert obs.status == 200
    assert obs.timings.tls is None
    assert obs.timings.server is not None and obs.timings.total > 0


def test_method_and_headers_are_sent():
    with serve(EchoHandler) as srv:
        obs = probe(srv.base_url + "/x", ProbeOptions(method="PUT", headers=("X-Probe: yes",)))
    assert obs.headers.get("X-Echo-Method") == "PUT"
    assert obs.headers.get("X-Echo-Probe") == "yes"


def test_head_rejected_is_an_error_status_and_get_is_fine():
    with serve(HeadRejectingHandler) as srv:
        head = build_report(probe(srv.base_url + "/health", ProbeOptions(method="HEAD")))
        get = build_report(probe(srv.base_url + "/health", ProbeOptions(method="GET")))
    assert head.data["status"] == 405 and "http.error-status" in codes(head)
    assert head.data["method"] == "HEAD"
    assert get.data["status"] == 200 and "http.error-status" not in codes(get)


@pytest.mark.parametrize(("handler", "status", "severity"), [(NotFoundHandler, 404, "medium"),
                                                               (ServerErrorHandler, 500, "high")])
def test_error_status(handler, status, severity):
    with serve(handler, tls=True) as srv:
        report = build_report(probe(srv.base_url + "/", ProbeOptions(ca_file=srv.ca_file)))
    [finding] = [f for f in report.findings if f.code == "http.error-status"]
    assert finding.evidence["status"] == status
    assert finding.severity.value == severity


def test_redirect_is_reported_not_followed():
    with serve(RedirectHandler) as srv:
        report = build_report(probe(srv.base_url + "/app", ProbeOptions()))
    assert report.data["status"] == 302
    assert report.data["headers"]["Location"] == "/login"
    assert "http.error-status" not in codes(report)


def test_stalling_server_times_out_in_server_phase():
    with serve(StallingHandler) as srv:
        obs = probe(srv.base_url + "/", ProbeOptions(timeout_s=0.5))
    assert obs.error and obs.error_code == 28
    assert obs.failed_phase == "server"
    report = build_report(obs)
    [finding] = [f for f in report.findings if f.code == "http.request-failed"]
    assert finding.evidence["failed_phase"] == "server"


def test_closed_port_fails_in_connect_phase():
    port = closed_port()
    obs = probe(f"http://127.0.0.1:{port}/", ProbeOptions(timeout_s=2))
    assert obs.error_code == 7 and obs.failed_phase == "connect"
    assert obs.status is None
    assert "http.request-failed" in codes(build_report(obs))


def test_untrusted_certificate_fails_in_tls_unless_insecure():
    with serve(OkHandler, tls=True) as srv:
        verified = probe(srv.base_url + "/", ProbeOptions())  # the system CAs do not know the test CA
        insecure = probe(srv.base_url + "/", ProbeOptions(insecure=True))
    assert verified.failed_phase == "tls" and verified.error_code == 60
    assert insecure.error is None and insecure.status == 200


def test_resolve_pins_a_name_to_an_address():
    with serve(EchoHandler) as srv:
        url = f"http://cdn.casework.test:{srv.port}/"
        obs = probe(url, ProbeOptions(resolve=(f"cdn.casework.test:{srv.port}:127.0.0.1",)))
    assert obs.status == 200 and obs.address == "127.0.0.1"
    assert obs.headers.get("X-Echo-Host") == f"cdn.casework.test:{srv.port}"


def test_resolve_over_tls_keeps_the_certificate_name():
    # The certificate is for "localhost": pinning localhost to 127.0.0.1 must still verify.
    with serve(OkHandler, tls=True) as srv:
        url = f"https://localhost:{srv.port}/"
        obs = probe(url, ProbeOptions(ca_file=srv.ca_file, resolve=(f"localhost:{srv.port}:127.0.0.1",)))
    assert obs.error is None and obs.address == "127.0.0.1"


def test_compare_runs_the_same_request_against_each_address():
    with serve(EchoHandler) as srv:
        url = f"http://cdn.casework.test:{srv.port}/"
        # The server listens on 127.0.0.1 only: 127.0.0.2 (also loopback) refuses.
        results = probe_compare(url, ProbeOptions(timeout_s=2), ["127.0.0.1", "127.0.0.2"])
    ok, refused = results
    assert ok.status == 200 and ok.headers.get("X-Echo-Host") == f"cdn.casework.test:{srv.port}"
    assert refused.error is not None and refused.failed_phase == "connect"


def test_repeat_reports_min_median_p95():
    with serve(OkHandler) as srv:
        obs = probe(srv.base_url + "/", ProbeOptions(), runs=3)
    assert len(obs.runs) == 3
    report = build_report(obs)
    stats = report.data["stats_ms"]
    for phase in ("dns", "connect", "server", "transfer", "total"):
        s = stats[phase]
        assert s["min"] <= s["median"] <= s["p95"]
        assert s["min"] == pytest.approx(min(r.phase(phase) for r in obs.runs), abs=0.001)
    assert report.data["timings_ms"]["total"] == pytest.approx(stats["total"]["median"], abs=0.001)


def test_bad_probe_inputs_are_input_errors():
    with pytest.raises(InputError):
        probe("ftp://example.com/", ProbeOptions())
    with pytest.raises(InputError):
        probe("http://127.0.0.1:1/", ProbeOptions(), runs=0)


def test_alibaba_miss_at_both_tiers():
    with serve(AlibabaMissHandler) as srv:
        report = build_report(probe(srv.base_url + "/", ProbeOptions()))
    cdn = report.data["cdn"]
    assert cdn["vendor"] == "Alibaba Cloud CDN (Tengine)"
    assert cdn["status"] == "MISS"
    assert [(n["name"], n["layer"], n["result"]) for n in cdn["nodes"] if n["result"]] == [
        ("cache3.l2cn1801", "L2", "MISS"), ("kunlun2.cn210", "L1", "MISS")]
    assert cdn["ttl_s"] == 600 and cdn["age_s"] == 0
    assert cdn["request_id"] == "7ae0a29b16051624662385728e"
    [miss] = [f for f in report.findings if f.code == "cdn.miss"]
    assert miss.evidence["missed_nodes"] == ["cache3.l2cn1801", "kunlun2.cn210"]


def test_cloudflare_private_page_is_uncacheable():
    with serve(CloudflarePrivateHandler) as srv:
        report = build_report(probe(srv.base_url + "/", ProbeOptions()))
    cdn = report.data["cdn"]
    assert cdn["vendor"] == "Cloudflare" and cdn["status"] == "DYNAMIC"
    assert cdn["request_id"] == "7d1a2b3c4d5e6f70-HKG"
    [finding] = [f for f in report.findings if f.code == "cdn.uncacheable"]
    assert set(finding.evidence["reasons"]) == {"private", "max-age=0", "Set-Cookie"}
    assert "cdn.miss" not in codes(report)


def test_a_server_that_thinks_gives_slow_server():
    with serve(SlowServerHandler) as srv:
        report = build_report(probe(srv.base_url + "/", ProbeOptions()))
    [finding] = [f for f in report.findings if f.code == "http.slow-server"]
    assert finding.evidence["ms"] >= 300 and finding.evidence["share"] >= 0.4


def test_a_body_that_dribbles_gives_slow_transfer():
    with serve(SlowBodyHandler) as srv:
        obs = probe(srv.base_url + "/", ProbeOptions())
    assert obs.body_bytes == 4096
    report = build_report(obs)
    [finding] = [f for f in report.findings if f.code == "http.slow-transfer"]
    assert finding.evidence["ms"] >= 300
    assert "http.slow-server" not in codes(report)
