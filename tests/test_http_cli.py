"""The ``casework http`` command: formats, languages, exit codes, --compare and --from-file, end to end."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from casework import i18n
from casework.cli import app
from casework.diagnostics.net.httpfile import parse_http_text
from casework.diagnostics.net.httpmodel import HttpObservation, PhaseTimings
from casework.diagnostics.net.httpreport import build_report
from conftest import DATA
from localservers import HeadRejectingHandler, OkHandler, StallingHandler, serve

SEED = str(DATA / "http" / "seed_httpstat.txt")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def english_afterwards():
    # The CLI sets the language for the whole context; leave English for the next test.
    yield
    i18n.set_language("en")


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["http", *args], input=stdin)


def test_seed_json_contract():
    result = run("--from-file", SEED, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    for key in ("kind", "url", "address", "status", "timings_ms", "headers", "cdn", "findings"):
        assert key in doc
    assert doc["kind"] == "http"
    assert set(doc["timings_ms"]) == {"dns", "connect", "tls", "server", "transfer", "total"}
    assert set(doc["cdn"]) >= {"vendor", "status", "nodes", "age_s", "ttl_s", "request_id"}
    assert set(doc["cdn"]["nodes"][0]) >= {"name", "layer", "result"}
    assert doc["findings"][0]["code"] == "http.slow-tls"


def test_seed_from_stdin_markdown_reply():
    with open(SEED, encoding="utf-8") as fh:
        result = run("--from-file", "-", "--format", "markdown", stdin=fh.read())
    assert result.exit_code == 0
    out = result.stdout
    assert "**Slow TLS handshake** (`http.slow-tls`" in out
    assert "| time | 23 ms | 20 ms | 234 ms | 25 ms | 1.0 ms | 305 ms |" in out
    assert "Alibaba Cloud CDN (Tengine)" in out and "| kunlun9.cn210 | L1 | HIT |" in out


def test_seed_in_chinese():
    result = run("--from-file", SEED, "--lang", "zh", "--format", "json")
    doc = json.loads(result.stdout)
    finding = doc["findings"][0]
    assert finding["code"] == "http.slow-tls"
    assert CJK.search(finding["title"]) and CJK.search(finding["detail"]) and CJK.search(finding["advice"])


def _every_finding() -> list:
    """Reports that between them raise every finding code (built from observations, not hard-coded output)."""
    slow = HttpObservation(url="https://x/", status=200, timings=PhaseTimings(
        dns=1100, connect=1200, tls=1500, server=2500, transfer=6000, total=12300))
    miss = parse_http_text(
        "HTTP/1.1 503 Service Unavailable\nServer: Tengine\nX-Cache: MISS TCP_MISS\nEagleId: 1\n"
        "Via: cache1.l2cn1[1,503-0,M]\nCache-Control: no-store\n", source="miss")[0]
    expired = parse_http_text("HTTP/1.1 404 Not Found\ncf-cache-status: EXPIRED\ncf-ray: 1\n", source="exp")[0]
    failed = [HttpObservation(url="https://x/", error="boom", error_code=code, failed_phase=phase)
              for code, phase in ((6, "dns"), (7, "connect"), (60, "tls"), (28, "server"), (18, "transfer"))]
    return [build_report(o) for o in (slow, miss, expired, *failed)]


def test_every_finding_renders_in_english_and_chinese():
    i18n.set_language("en")
    english = {(f.code, f.evidence.get("failed_phase")): f for r in _every_finding() for f in r.findings}
    i18n.set_language("zh")
    chinese = {(f.code, f.evidence.get("failed_phase")): f for r in _every_finding() for f in r.findings}
    codes = {code for code, _ in english}
    assert codes == {"http.slow-dns", "http.slow-connect", "http.slow-tls", "http.slow-server",
                     "http.slow-transfer", "cdn.miss", "cdn.uncacheable", "http.error-status",
                     "http.request-failed"}
    for key, en in english.items():
        zh = chinese[key]
        for field in ("title", "detail", "advice"):
            assert getattr(en, field) and not CJK.search(getattr(en, field)), (key, field)
            assert CJK.search(getattr(zh, field)), (key, field, getattr(zh, field))


def test_live_probe_terminal_and_markdown():
    with serve(OkHandler, tls=True) as srv:
        terminal = run(srv.base_url + "/", "--cacert", srv.ca_file)
        markdown = run(srv.base_url + "/", "--cacert", srv.ca_file, "-f", "markdown", "--lang", "zh")
    assert terminal.exit_code == 0, terminal.output
    assert "TLS" in terminal.stdout and "127.0.0.1" in terminal.stdout
    assert markdown.exit_code == 0 and "| 耗时 |" in markdown.stdout


def test_head_method_and_header_flags():
    with serve(HeadRejectingHandler) as srv:
        result = run(srv.base_url + "/", "-X", "HEAD", "-H", "X-Test: 1", "-f", "json")
    doc = json.loads(result.stdout)
    assert doc["status"] == 405 and doc["method"] == "HEAD"
    assert [f["code"] for f in doc["findings"]] == ["http.error-status"]


def test_repeat_and_compare_side_by_side():
    with serve(OkHandler) as srv:
        url = f"http://origin.casework.test:{srv.port}/"
        json_result = run(url, "--compare", "127.0.0.1,127.0.0.2", "-n", "2", "--timeout", "2", "-f", "json")
        md_result = run(url, "--compare", "127.0.0.1,127.0.0.2", "--timeout", "2", "-f", "markdown")
    docs = json.loads(json_result.stdout)
    assert [d["pinned"] for d in docs] == ["127.0.0.1", "127.0.0.2"]
    assert docs[0]["status"] == 200 and docs[0]["runs"] == 2 and "stats_ms" in docs[0]
    assert docs[1]["error"] and docs[1]["failed_phase"] == "connect"
    assert json_result.exit_code == 1  # one address gave no response
    assert "Side by side" in md_result.stdout
    assert "| Phase | 127.0.0.1:" in md_result.stdout


def test_timeout_exits_1_with_a_report():
    with serve(StallingHandler) as srv:
        result = run(srv.base_url + "/", "--timeout", "0.5", "-f", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["findings"][0]["code"] == "http.request-failed"


@pytest.mark.parametrize("args", [
    ["not-a-url"],
    ["http://127.0.0.1/", "--resolve", "nonsense"],
    ["http://127.0.0.1/", "--resolve", "h:80:not-an-ip"],
    ["http://127.0.0.1/", "--compare", "1.2.3"],
    ["http://127.0.0.1/", "-n", "0"],
    ["http://127.0.0.1/", "--http1.1", "--http2"],
    ["--from-file", "/nonexistent/file.txt"],
    ["http://127.0.0.1/", "--from-file", SEED],
    [],
])
def test_bad_arguments_exit_2_with_one_line(args):
    result = run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unreadable_paste_names_file_and_line(tmp_path):
    bad = tmp_path / "paste.txt"
    bad.write_text("\nplease help, the site is slow\n")
    result = run("--from-file", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:2: no HTTP response found" in result.stderr
