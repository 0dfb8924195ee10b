"""casework mtr: the seed's WinMTR verdict, every reader, the verdict rules, the CLI contract, real mtr runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from casework.cli import app
from casework.diagnostics.net.mtr import analyze_file, analyze_trace, run_mtr
from casework.diagnostics.net.mtr_formats import parse_text
from casework.diagnostics.net.netowners import lookup
from casework.diagnostics.report import InputError
from casework.i18n import use_language
from conftest import DATA
from localservers import OkHandler, serve
from services import require_binary

MTR = DATA / "mtr"
SEED = MTR / "seed_winmtr.txt"
SEED_VARIANTS = ["seed_winmtr.txt", "seed_winmtr_left.txt", "seed_old_strings.json", "seed_report_old.txt",
                 "seed.csv"]

runner = CliRunner()


def _codes(report) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for f in report.findings:
        out.setdefault(f.code, []).append(f.evidence["hop"])
    return out


def _finding(report, code):
    [f] = [f for f in report.findings if f.code == code]
    return f


# --- the seed case ---------------------------------------------------------------------------------------


def test_seed_winmtr_verdict():
    report = analyze_file(str(SEED))
    doc = report.to_dict()
    assert doc["kind"] == "mtr"
    assert doc["format"] == "winmtr"
    assert doc["target"] == "170.33.9.91"
    assert len(doc["hops"]) == 19

    loss = _finding(report, "mtr.loss-from-hop")
    assert loss.evidence["hop"] == 7
    assert loss.evidence["host"] == "220.191.200.53"
    assert loss.evidence["destination"] == "170.33.9.91"
    assert loss.evidence["destination_loss_pct"] == 43
    # Persisting: every answering hop from 7 to the destination is lossy; the silent 16-18 are not counted.
    assert loss.evidence["lossy_hops"] == [7, 8, 9, 10, 11, 12, 13, 14, 15, 19]
    # Hop 7's owner is not in the table, so the finding names the next known network: ChinaNet's backbone.
    assert loss.evidence["next_known_hop"]["host"] == "202.97.26.9"
    assert loss.evidence["next_known_hop"]["network"]["asn"] == 4134
    assert loss.severity.value == "critical"

    jump = _finding(report, "mtr.latency-jump")
    assert jump.evidence["hop"] == 11
    assert jump.evidence["host"] == "202.97.71.194"
    assert jump.evidence["network"]["asn"] == 4134
    assert jump.evidence["from_hop"] == 10

    rate = _finding(report, "mtr.icmp-rate-limit")
    assert (rate.evidence["hop"], rate.evidence["host"], rate.evidence["loss_pct"]) == (4, "30.42.1.5", 4)
    assert rate.evidence["network"]["kind"] == "provider-internal"

    silent = _finding(report, "mtr.no-reply-hop")
    assert silent.evidence["hops"] == [16, 17, 18]
    assert "mtr.destination-no-reply" not in _codes(report)
    # The one-hop spikes (hop 2: 49 ms, hop 9: 57 ms) are not latency jumps.
    assert _codes(report)["mtr.latency-jump"] == [11]


def test_seed_hop_table_matches_the_winmtr_text():
    hops = analyze_file(str(SEED)).to_dict()["hops"]
    seventh = hops[6]
    assert seventh == {**seventh, "hop": 7, "host": "220.191.200.53", "loss_pct": 38, "sent": 1062, "received": 665,
                       "best_ms": 0, "avg_ms": 5, "worst_ms": 32, "last_ms": 5}
    assert hops[13]["host"] == "hundredge0-1-0-0.scbr01.sjo01.pccwbtn.net"
    assert hops[13]["network"]["asn"] == 3491  # by host-name suffix
    assert [h["host"] for h in hops[15:18]] == [None, None, None]
    assert all(h["avg_ms"] is None for h in hops[15:18])
    assert "loss-start" in hops[6]["notes"] and "rate-limit" in hops[3]["notes"]


@pytest.mark.parametrize("name", SEED_VARIANTS)
def test_every_reader_gives_the_seed_verdict(name):
    report = analyze_file(str(MTR / name))
    assert _codes(report) == {"mtr.loss-from-hop": [7], "mtr.latency-jump": [11], "mtr.icmp-rate-limit": [4],
                              "mtr.no-reply-hop": [16]}
    reference = analyze_file(str(SEED)).to_dict()["hops"]
    hops = report.to_dict()["hops"]
    assert [(h["host"], h["loss_pct"], h["sent"]) for h in hops] == [
        (h["host"], h["loss_pct"], h["sent"]) for h in reference]
    # Formats without a receive count (mtr report/JSON/CSV) recover it from Loss% and Snt; WinMTR rounds its
    # loss to whole percent, so the recovered count is within 1 % of the probes sent.
    for got, ref in zip(hops, reference, strict=True):
        assert abs(got["received"] - ref["received"]) <= max(1, ref["sent"] // 100), (got, ref)


def test_old_json_string_counts_are_read():
    trace = parse_text((MTR / "seed_old_strings.json").read_text(), source="x")
    assert trace.format == "mtr-json"
    assert trace.origin == "customer-pc"
    assert [h.hop for h in trace.hops] == list(range(1, 20))


# --- real mtr outputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["localhost_0.95.json", "localhost_report.txt", "localhost_report_wide.txt",
                                  "localhost.csv"])
def test_real_localhost_fixtures(name):
    report = analyze_file(str(MTR / name))
    [hop] = report.to_dict()["hops"]
    assert hop["host"] in ("127.0.0.1", "localhost")
    assert hop["sent"] == 5 and hop["received"] == 5 and hop["loss_pct"] == 0
    assert report.findings == []


@pytest.mark.parametrize("name", ["testnet2_0.95.json", "testnet2_report.txt"])
def test_real_unanswered_destination(name):
    report = analyze_file(str(MTR / name))
    f = _finding(report, "mtr.destination-no-reply")
    assert f.evidence["hop"] == 8
    assert f.evidence["last_responder_hop"] == 7
    assert f.evidence["silent_hops"] == [8]
    # Hops 2-7 all lose 80 % and none after them answers cleanly: nothing to call rate limiting.
    assert "mtr.icmp-rate-limit" not in _codes(report)
    assert report.to_dict()["summary"]["reached"] is False


# --- verdict rules on small traces -----------------------------------------------------------------------

HEADER = "HOST: probe                       Loss%   Snt   Last   Avg  Best  Wrst StDev\n"


def _report(rows: list[tuple[str, str, float]]):
    """A trace in mtr --report form: (host, loss, avg ms) per hop."""
    text = HEADER + "".join(
        f"  {i}.|-- {host:<24}{loss:>7}    10 {avg:6.1f} {avg:6.1f} {avg:6.1f} {avg:6.1f}   0.0\n"
        for i, (host, loss, avg) in enumerate(rows, 1))
    return analyze_trace(parse_text(text, source="t.txt"))


def test_loss_only_at_the_destination_is_located_there():
    report = _report([("10.0.0.1", "0.0%", 1), ("59.43.1.1", "0.0%", 5), ("203.0.113.9", "30.0%", 6)])
    f = _finding(report, "mtr.loss-from-hop")
    assert f.evidence["hop"] == 3 and f.evidence["lossy_hops"] == [3]


def test_loss_that_recovers_is_rate_limiting_even_with_a_later_real_loss():
    report = _report([("10.0.0.1", "0.0%", 1), ("59.43.1.1", "50.0%", 5), ("59.43.1.2", "0.0%", 6),
                      ("219.158.1.1", "20.0%", 7), ("203.0.113.9", "20.0%", 8)])
    assert _codes(report) == {"mtr.icmp-rate-limit": [2], "mtr.loss-from-hop": [4]}
    assert _finding(report, "mtr.loss-from-hop").evidence["network"]["asn"] == 4837


def test_one_hop_spike_is_not_a_jump_but_a_persisting_rise_is():
    spike = _report([("10.0.0.1", "0.0%", 2), ("59.43.1.1", "0.0%", 180), ("59.43.1.2", "0.0%", 4),
                     ("203.0.113.9", "0.0%", 5)])
    assert spike.findings == []
    rise = _report([("10.0.0.1", "0.0%", 2), ("59.43.1.1", "0.0%", 4), ("223.120.1.1", "0.0%", 90),
                    ("203.0.113.9", "0.0%", 95)])
    assert _codes(rise) == {"mtr.latency-jump": [3]}
    # A rise small relative to the latency already there (200 -> 240 ms) is not a jump.
    far = _report([("10.0.0.1", "0.0%", 200), ("203.0.113.9", "0.0%", 240)])
    assert far.findings == []


def test_nothing_answers():
    report = _report([("???", "100.0", 0), ("???", "100.0", 0)])
    f = _finding(report, "mtr.destination-no-reply")
    assert f.evidence["hop"] == 1 and f.evidence["last_responder_hop"] is None


def test_owner_table():
    assert lookup("202.97.71.194").asn == 4134
    assert lookup("59.43.246.1").asn == 4809
    assert lookup("100.64.1.1").kind == "cgnat"
    assert lookup("router.example (219.158.3.4)").asn == 4837
    assert lookup("xe-0.ae1.ntt.net").asn == 2914
    assert lookup("8.8.8.8") is None and lookup("???") is None and lookup(None) is None


# --- the CLI contract ------------------------------------------------------------------------------------


def test_cli_json_contract():
    result = runner.invoke(app, ["mtr", str(SEED), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"kind", "source", "target", "hops", "findings"} <= set(doc)
    assert {"hop", "host", "loss_pct", "sent", "received", "best_ms", "avg_ms", "worst_ms", "last_ms"} <= set(
        doc["hops"][0])
    assert doc["findings"][0]["code"] == "mtr.loss-from-hop"


def test_cli_markdown_and_chinese():
    md = runner.invoke(app, ["mtr", str(SEED), "-f", "markdown"])
    assert md.exit_code == 0
    assert "| 7 | 220.191.200.53 |" in md.stdout and "mtr.loss-from-hop" in md.stdout
    zh = runner.invoke(app, ["mtr", str(SEED), "-f", "markdown", "--lang", "zh"])
    assert zh.exit_code == 0
    assert "丢包" in zh.stdout and "电信163" in zh.stdout
    with use_language("zh"):
        report = analyze_file(str(SEED))
    for f in report.findings:
        assert f.title != "" and not f.title.isascii(), f.title


def test_cli_terminal():
    result = runner.invoke(app, ["mtr", str(SEED)])
    assert result.exit_code == 0
    assert "220.191.200.53" in result.stdout and "Latency rises at hop 11" in result.stdout


def test_cli_bad_row_names_file_and_line(tmp_path):
    lines = SEED.read_text().splitlines()
    lines[7] = "|                             202.97.26.9 -   38 | 1062 |  ??? |    0 |   11 |   45 |   13 |"
    bad = tmp_path / "broken.txt"
    bad.write_text("\n".join(lines))
    result = runner.invoke(app, ["mtr", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:8:" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(("content", "where"), [
    ('{"report": {"hubs": [}}', ":1:"),
    ('{"report": {"hubs": [{"count": 1, "host": "a", "Loss%": "x", "Snt": 1}]}}', "report.hubs[0].Loss%"),
    ("HOST: a  Loss%   Snt   Last   Avg  Best  Wrst StDev\n  1.|-- a 0.0% 10\n", ":2:"),
    ("Mtr_Version,Start_Time,Status,Host,Hop,Ip,Loss%,Snt\nMTR.0.95,1,OK,h,1,a,250,3\n", ":2:"),
    ("hello\nworld\n", ":1:"),
])
def test_cli_bad_input_is_one_line(tmp_path, content, where):
    f = tmp_path / "in.txt"
    f.write_text(content)
    result = runner.invoke(app, ["mtr", str(f)])
    assert result.exit_code == 2
    assert where in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_needs_file_or_run():
    assert runner.invoke(app, ["mtr"]).exit_code == 2
    assert runner.invoke(app, ["mtr", str(SEED), "--run", "127.0.0.1"]).exit_code == 2
    missing = runner.invoke(app, ["mtr", "/nonexistent/mtr.txt"])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_stdin():
    result = runner.invoke(app, ["mtr", "-", "-f", "json"], input=SEED.read_text())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["source"] == "<stdin>"


# --- the system mtr --------------------------------------------------------------------------------------


@pytest.mark.network
def test_run_real_mtr_against_localhost():
    require_binary("mtr")
    result = runner.invoke(app, ["mtr", "--run", "127.0.0.1", "-c", "2", "--interval", "0.2", "--gracetime", "0.5",
                                 "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["target"] == "127.0.0.1" and doc["format"] == "mtr-json"
    [hop] = doc["hops"]
    assert (hop["host"], hop["sent"], hop["received"]) == ("127.0.0.1", 2, 2)
    assert hop["network"]["kind"] == "loopback"
    assert doc["findings"] == []


@pytest.mark.network
def test_run_real_mtr_tcp_to_a_local_server():
    require_binary("mtr")
    with serve(OkHandler) as server:
        trace = run_mtr("127.0.0.1", count=2, interval=0.2, tcp=True, port=server.port, gracetime=0.5)
    assert [h.host for h in trace.hops] == ["127.0.0.1"]
    assert trace.hops[0].received == 2


@pytest.mark.network
@pytest.mark.parametrize("flag", ["--json", "--report", "--report-wide", "--csv"])
def test_real_mtr_output_formats_parse_back(flag):
    mtr = require_binary("mtr")
    out = subprocess.run([mtr, "-n", "-c", "2", "-i", "0.2", "-G", "0.5", flag, "127.0.0.1"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    trace = parse_text(out, source=flag)
    assert trace.format == {"--json": "mtr-json", "--csv": "mtr-csv"}.get(flag, "mtr-report")
    assert [(h.hop, h.host, h.sent) for h in trace.hops] == [(1, "127.0.0.1", 2)]


def test_run_without_mtr_installed_is_a_clear_error():
    env = {**os.environ, "PATH": "/nonexistent"}
    done = subprocess.run([sys.executable, "-m", "casework.cli", "mtr", "--run", "127.0.0.1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "mtr binary is not installed" in done.stderr and "apt-get install mtr-tiny" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_rejects_option_like_host():
    with pytest.raises(InputError):
        run_mtr("--help", count=1)
