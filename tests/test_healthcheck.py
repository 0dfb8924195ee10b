"""casework healthcheck against real servers on 127.0.0.1 (tests/localservers.py), and the rise/fall machine."""

from __future__ import annotations

import json
import threading

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from casework.cli import app
from casework.diagnostics.net.healthcheck import (
    HEALTHY,
    UNHEALTHY,
    CheckConfig,
    apply_state_machine,
    check_both,
    check_http,
    check_tcp,
)
from casework.diagnostics.net.healthcheck_probe import Probe, parse_expect, split_host_port
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

runner = CliRunner()
FAST = CheckConfig(interval=0, timeout=2.0)


def _codes(report) -> list[str]:
    return [f.code for f in report.ranked()]


def _finding(report, code):
    [f] = [f for f in report.findings if f.code == code]
    return f


# --- the seed case: HEAD rejected ------------------------------------------------------------------------


def test_head_rejected_is_method_not_allowed_and_get_works():
    with serve(HeadRejectingHandler) as srv:
        report = check_http(srv.base_url + "/health", FAST)
    doc = report.to_dict()
    assert doc["kind"] == "healthcheck" and doc["state"] == UNHEALTHY
    assert [p["status"] for p in doc["probes"]] == [405, 405, 405]
    assert all(p["method"] == "HEAD" and not p["ok"] for p in doc["probes"])
    f = _finding(report, "healthcheck.method-not-allowed")
    assert f.evidence["get_ok"] is True and f.evidence["get_status"] == 200
    assert "GET" in f.advice
    assert doc["get_probe"]["status"] == 200


def test_same_backend_checked_with_get_is_healthy():
    with serve(HeadRejectingHandler) as srv:
        report = check_http(srv.base_url + "/health", CheckConfig(interval=0, method="GET"))
    assert report.data["state"] == HEALTHY and report.findings == []


def test_both_explains_tcp_healthy_http_unhealthy():
    with serve(HeadRejectingHandler, tls=True) as srv:
        tcp, http = check_both(srv.base_url + "/health", FAST)
    assert tcp.data["check"] == "tcp" and tcp.data["state"] == HEALTHY
    assert tcp.data["target"] == f"127.0.0.1:{srv.port}"
    assert http.data["state"] == UNHEALTHY
    assert http.data["compared_with"] == {"check": "tcp", "target": f"127.0.0.1:{srv.port}", "state": HEALTHY}
    f = _finding(http, "healthcheck.method-not-allowed")
    assert f.evidence["tcp_state"] == HEALTHY
    assert "TCP (L4) check" in f.detail and "passes" in f.detail


def test_head_rejected_and_get_broken_too():
    class Broken(BaseHandler):
        def answer(self):
            self.respond(405 if self.command == "HEAD" else 500, b"")

    with serve(Broken) as srv:
        report = check_http(srv.base_url + "/", FAST)
    f = _finding(report, "healthcheck.method-not-allowed")
    assert f.evidence["get_ok"] is False and f.evidence["get_status"] == 500


# --- the other answers -----------------------------------------------------------------------------------


def test_redirect_is_healthy_only_when_3xx_expected():
    with serve(RedirectHandler) as srv:
        default = check_http(srv.base_url + "/", FAST)
        strict = check_http(srv.base_url + "/", CheckConfig(interval=0, expect=parse_expect("2xx")))
    assert default.data["state"] == HEALTHY
    f = _finding(default, "healthcheck.redirect")
    assert f.evidence["location"] == "/login" and f.evidence["accepted"] is True and f.severity.value == "low"
    assert strict.data["state"] == UNHEALTHY
    g = _finding(strict, "healthcheck.redirect")
    assert g.evidence["accepted"] is False and g.severity.value == "high"
    assert _codes(strict) == ["healthcheck.redirect"]


@pytest.mark.parametrize(("handler", "status"), [(NotFoundHandler, 404), (ServerErrorHandler, 500)])
def test_unexpected_status(handler, status):
    with serve(handler) as srv:
        report = check_http(srv.base_url + "/health", FAST)
    f = _finding(report, "healthcheck.unexpected-status")
    assert f.evidence["statuses"] == [status]
    assert report.data["state"] == UNHEALTHY


def test_stall_past_timeout():
    with serve(StallingHandler) as srv:
        report = check_http(srv.base_url + "/", CheckConfig(interval=0, timeout=0.3, count=2))
    f = _finding(report, "healthcheck.timeout")
    assert f.evidence["failed"] == 2
    assert [p["error"] for p in report.data["probes"]] == ["timeout", "timeout"]


def test_closed_port_refused_for_tcp_and_http():
    port = closed_port()
    tcp = check_tcp(f"127.0.0.1:{port}", FAST)
    http = check_http(f"http://127.0.0.1:{port}/", FAST)
    for report in (tcp, http):
        assert _codes(report) == ["healthcheck.connection-refused"]
        assert report.data["state"] == UNHEALTHY


def test_tls_verified_with_the_right_ca_and_failing_with_another():
    other_ca = trustme.CA()
    with serve(OkHandler, tls=True) as srv:
        good = check_http(srv.base_url + "/", CheckConfig(interval=0, cafile=srv.ca_file))
        unverified = check_http(srv.base_url + "/", FAST)  # balancers do not verify backend certificates
        with other_ca.cert_pem.tempfile() as wrong:
            bad = check_http(srv.base_url + "/", CheckConfig(interval=0, cafile=wrong, count=1))
    assert good.data["state"] == HEALTHY and good.findings == []
    assert unverified.data["state"] == HEALTHY
    assert _codes(bad) == ["healthcheck.tls-error"]


def test_https_check_of_a_plain_http_port_is_a_tls_error():
    with serve(OkHandler) as srv:
        report = check_http(f"https://127.0.0.1:{srv.port}/", CheckConfig(interval=0, count=1))
    assert _codes(report) == ["healthcheck.tls-error"]


def test_host_header_selects_the_virtual_host():
    class VirtualHost(BaseHandler):
        def answer(self):
            self.respond(200 if self.headers.get("Host") == "app.example.com" else 404, b"")

    with serve(VirtualHost) as srv:
        wrong = check_http(srv.base_url + "/", FAST)
        right = check_http(srv.base_url + "/", CheckConfig(interval=0, host_header="app.example.com"))
    assert _codes(wrong) == ["healthcheck.unexpected-status"]
    assert right.data["state"] == HEALTHY


def test_recovering_backend_goes_healthy_after_rise_successes():
    lock = threading.Lock()
    seen = {"n": 0}

    class Recovering(BaseHandler):
        def answer(self):
            with lock:
                seen["n"] += 1
                n = seen["n"]
            self.respond(503 if n <= 2 else 200, b"")

    with serve(Recovering) as srv:
        report = check_http(srv.base_url + "/", CheckConfig(interval=0, count=5, rise=2, fall=2))
    states = [p["state"] for p in report.data["probes"]]
    assert [p["status"] for p in report.data["probes"]] == [503, 503, 200, 200, 200]
    assert states == [UNHEALTHY, UNHEALTHY, UNHEALTHY, HEALTHY, HEALTHY]
    # The backend ended healthy: the failures are reported, as a warning of flapping, not as the cause.
    assert _finding(report, "healthcheck.unexpected-status").severity.value == "medium"


# --- the state machine -----------------------------------------------------------------------------------


def _probes(pattern: str) -> list[Probe]:
    return [Probe(at="", ok=c == "+", status=None, latency_ms=None, error=None) for c in pattern]


@pytest.mark.parametrize(("pattern", "initial", "states"), [
    ("+++", UNHEALTHY, "UUH"),
    ("++-++", UNHEALTHY, "UUUUU"),
    ("--+--", HEALTHY, "HHHHH"),
    ("---+", HEALTHY, "HHUU"),
    ("+++---+++", UNHEALTHY, "UUHHHUUUH"),
])
def test_rise_fall(pattern, initial, states):
    probes = _probes(pattern)
    final = apply_state_machine(probes, rise=3, fall=3, initial=initial)
    got = "".join("H" if p.state == HEALTHY else "U" for p in probes)
    assert got == states and final == (HEALTHY if states[-1] == "H" else UNHEALTHY)


@given(st.text(alphabet="+-", max_size=30), st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_state_changes_only_after_enough_consecutive_results(pattern, rise, fall, start_healthy):
    probes = _probes(pattern)
    apply_state_machine(probes, rise=rise, fall=fall, initial=HEALTHY if start_healthy else UNHEALTHY)
    previous = HEALTHY if start_healthy else UNHEALTHY
    for i, p in enumerate(probes):
        if p.state != previous:
            need, want = (rise, True) if p.state == HEALTHY else (fall, False)
            window = probes[i - need + 1: i + 1] if i + 1 >= need else None
            assert window is not None and all(q.ok is want for q in window)
        previous = p.state


# --- option parsing --------------------------------------------------------------------------------------


def test_expect_spellings():
    assert parse_expect("2xx,3xx").accepts(302) and not parse_expect("2xx,3xx").accepts(405)
    assert parse_expect("http_2xx").accepts(204)
    assert parse_expect("200,301").accepts(301) and not parse_expect("200,301").accepts(302)


@given(st.text(max_size=30))
def test_option_parsers_never_crash(text):
    for parse in (parse_expect, split_host_port):
        try:
            parse(text)
        except InputError as exc:
            assert exc.one_line().startswith("--")


# --- the CLI ---------------------------------------------------------------------------------------------


def test_cli_both_json_and_exit_status():
    with serve(HeadRejectingHandler) as srv:
        result = runner.invoke(app, ["healthcheck", "--both", "--http", srv.base_url + "/health", "--interval",
                                     "0", "--format", "json"])
    assert result.exit_code == 1  # a check ended unhealthy
    tcp, http = json.loads(result.stdout)
    for doc in (tcp, http):
        assert {"kind", "target", "probes", "state", "findings"} <= set(doc)
        assert {"at", "ok", "status", "latency_ms", "error"} <= set(doc["probes"][0])
    assert (tcp["state"], http["state"]) == (HEALTHY, UNHEALTHY)
    assert http["findings"][0]["code"] == "healthcheck.method-not-allowed"


def test_cli_healthy_exits_zero_and_markdown_is_a_reply():
    with serve(OkHandler) as srv:
        result = runner.invoke(app, ["healthcheck", "--http", srv.base_url + "/", "--interval", "0", "-f",
                                     "markdown"])
    assert result.exit_code == 0
    assert "| 3 |" in result.stdout and "healthy" in result.stdout


def test_cli_chinese():
    with serve(HeadRejectingHandler) as srv:
        result = runner.invoke(app, ["healthcheck", "--both", "--http", srv.base_url + "/", "--interval", "0",
                                     "-f", "markdown", "--lang", "zh"])
    assert result.exit_code == 1
    assert "HEAD" in result.stdout and "健康检查" in result.stdout and "GET" in result.stdout


@pytest.mark.parametrize("args", [
    ["--tcp", "nonsense"],
    ["--http", "ftp://127.0.0.1/"],
    ["--http", "http://127.0.0.1/", "--expect", "7xx"],
    ["--http", "http://127.0.0.1/", "--method", "POST"],
    ["--tcp", "127.0.0.1:80", "--rise", "0"],
    ["--both"],
    [],
])
def test_cli_bad_options_exit_2(args):
    result = runner.invoke(app, ["healthcheck", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
