"""A worker's Partial crosses to the parent by pickle: every slot of every shape must come back as it was (the
counters as Counters with the same items in the same order), so a parallel digest folds what the worker folded."""

from __future__ import annotations

import dataclasses
import pickle
from collections import Counter
from pathlib import Path

import pytest

from casework.diagnostics.slowlog import pipeline
from casework.diagnostics.slowlog.digest import Options, Partial, _Agg, finish
from conftest import DATA
from slowlog_mongo_helpers import mongodb_generator

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def json_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mongo") / "gen.json.log"
    mongodb_generator().generate(path, fmt="json", size_mb=1.0, seed=13, templates=150)
    return path


def _chunk(path: Path, engine: str, fmt: str | None) -> Partial:
    part, _lines = pipeline._digest_chunk(str(path), path.name, 0, path.stat().st_size, engine, fmt, Options(top=0), 3)
    return part


def _assert_same_aggs(a: Partial, b: Partial) -> None:
    assert list(a.aggs) == list(b.aggs)
    for key, x in a.aggs.items():
        y = b.aggs[key]
        for slot in _Agg.__slots__:
            mine, theirs = getattr(x, slot), getattr(y, slot)
            assert type(mine) is type(theirs), slot
            if isinstance(mine, dict):
                assert list(mine.items()) == list(theirs.items()), slot
            else:
                assert mine == theirs or (mine != mine and theirs != theirs), slot


@pytest.mark.parametrize(
    "source",
    ["generated-json", DATA / "slowlog" / "mongodb" / "mongod44_slow.json.log", DATA / "slowlog" / "mysql" / "pt" / "slow030.txt"],
    ids=str,
)
def test_partial_pickles_every_slot(source: Path | str, json_log: Path) -> None:
    if source == "generated-json":
        part = _chunk(json_log, "mongodb", "mongodb-json")
    elif str(source).endswith(".txt"):
        part = _chunk(Path(source), "mysql", None)
    else:
        part = _chunk(Path(source), "mongodb", "mongodb-json")
    assert part.aggs
    back = pickle.loads(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL))
    _assert_same_aggs(part, back)
    assert all(type(getattr(a, k)) is Counter for a in back.aggs.values()
               for k in ("plans", "reasons", "dbs", "users", "clients", "namespaces", "operations"))
    engines = {k[0] for k in part.aggs}
    from casework.diagnostics.slowlog import detect

    mods = {e: detect.engines()[e] for e in engines}
    d1 = finish(part, options=Options(top=0), engines=mods)
    d2 = finish(back, options=Options(top=0), engines=mods)
    assert [dataclasses.asdict(s) for s in d1.shapes] == [dataclasses.asdict(s) for s in d2.shapes]


def test_unpickled_counters_still_count(json_log: Path) -> None:
    part = _chunk(json_log, "mongodb", "mongodb-json")
    back = pickle.loads(pickle.dumps(part))
    agg = next(iter(back.aggs.values()))
    before = dict(agg.operations)
    agg.operations["zzz"] += 2
    agg.operations.update(Counter({"zzz": 1}))
    assert agg.operations["zzz"] == 3 and agg.operations["missing"] == 0
    assert {k: v for k, v in agg.operations.items() if k != "zzz"} == before
    again = Partial()
    again.merge(back)
    again.merge(pickle.loads(pickle.dumps(part)))
    assert again.entries == 2 * part.entries


def test_parallel_digest_equals_sequential_on_a_generated_log(json_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seq = pipeline.digest_inputs([str(json_log)], options=Options(top=0), workers=1)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_MIN", 64 << 10)
    monkeypatch.setattr(pipeline, "CHUNK_MAX", 128 << 10)
    par = pipeline.digest_inputs([str(json_log)], options=Options(top=0), workers=2)

    def key(d):  # type: ignore[no-untyped-def]
        # Not the top clients: with ties in their counts, which five are shown depends on the merge order.
        return sorted((s.fingerprint, s.count, round(s.total_ms, 3), s.example_line, s.examined, s.returned,
                       s.dbs, s.users, s.namespace, s.operation, s.first_seen, s.last_seen, s.internal,
                       s.plan, s.histogram) for s in d.shapes)

    assert len(seq.shapes) >= 100 and key(seq) == key(par)
    assert seq.summary["entries"] == par.summary["entries"]


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
@pytest.mark.parametrize("sizes", [[5], [8, 8, 8, 8, 8, 8, 8, 8, 6, 4, 3, 2, 2, 1], [1] * 40, [100, 1, 1, 1], [0, 3, 0, 3]])
def test_tasks_cover_the_chunks_in_order_with_guided_sizes(sizes: list[int], workers: int) -> None:
    cuts = [0]
    for n in sizes:
        cuts.append(cuts[-1] + n)
    chunks = list(zip(cuts[:-1], cuts[1:], strict=True))
    tasks = pipeline.plan_tasks(chunks, workers=workers)
    assert [i for task in tasks for i in task] == list(range(len(chunks)))
    assert all(tasks)
    left = cuts[-1]
    for task in tasks:
        got = sum(sizes[i] for i in task)
        want = max(1, left // (workers * 2))
        assert got >= want or task[-1] == len(chunks) - 1  # enough, or the last chunks
        assert got - sizes[task[-1]] < want  # and no chunk more than that
        left -= got


def test_worker_task_folds_its_chunks_as_one_stream(json_log: Path) -> None:
    """A task's ranges are folded into one partial in file order: every shape is what one fold of the whole file
    gives, bit for bit (the same entries in the same order), with line numbers relative to each range."""
    data = json_log.read_bytes() + b"not json\n{\"msg\":\"Slow query\", broken\n"
    path = json_log.with_name("with_bad_lines.log")
    path.write_bytes(data)
    size = len(data)
    from casework.diagnostics.slowlog import mongodb

    a = mongodb.chunk_start(data[size // 3 :]) + size // 3
    b = mongodb.chunk_start(data[2 * size // 3 :]) + 2 * size // 3
    ranges = [(0, a, 10), (a, b, 11), (b, size, 12)]
    grouped, lines = pipeline._digest_chunks(str(path), "x", ranges, "mongodb", "mongodb-json", Options(top=0))
    whole, n = pipeline._digest_chunk(str(path), "x", 0, size, "mongodb", "mongodb-json", Options(top=0), 10)
    assert sum(lines) == n == data.count(b"\n")
    assert lines == [data[s:e].count(b"\n") for s, e, _ in ranges]
    offsets = {10: 0, 11: lines[0], 12: lines[0] + lines[1]}
    assert list(grouped.aggs) == list(whole.aggs)
    for key, g in grouped.aggs.items():
        w = whole.aggs[key]
        for slot in _Agg.__slots__:
            mine, theirs = getattr(g, slot), getattr(w, slot)
            if slot == "example_line":
                assert offsets[mine[0]] + mine[1] == theirs[1]
            else:
                assert type(mine) is type(theirs) and mine == theirs, slot
                if isinstance(mine, dict):
                    assert list(mine) == list(theirs), slot
    assert grouped.entries == whole.entries and grouped.by_engine == whole.by_engine
    assert (grouped.stats.lines, grouped.stats.unparsed) == (whole.stats.lines, whole.stats.unparsed) == (n, 2)
    assert [offsets[o] + k for o, _name, k in grouped.unparsed_at] == whole.stats.unparsed_lines


def test_worker_task_of_sql_chunks_merges_fresh_partials(tmp_path: Path) -> None:
    """The fast scan needs a fresh partial per range: a task of SQL ranges merges them, as the parent would."""
    path = DATA / "slowlog" / "mysql" / "pt" / "slow030.txt"
    data = path.read_bytes() * 3
    tmp = tmp_path / "my.log"
    tmp.write_bytes(data)
    third = len(data) // 3
    ranges = [(0, third, 0), (third, 2 * third, 1), (2 * third, len(data), 2)]
    grouped, lines = pipeline._digest_chunks(str(tmp), "x", ranges, "mysql", None, Options(top=0))
    parent = Partial()
    singles = []
    for start, end, order in ranges:
        part, n = pipeline._digest_chunk(str(tmp), "x", start, end, "mysql", None, Options(top=0), order)
        singles.append(n)
        parent.merge(pickle.loads(pickle.dumps(part)))
    assert lines == singles
    _assert_same_aggs(grouped, parent)
    assert grouped.entries == parent.entries and grouped.stats == parent.stats
