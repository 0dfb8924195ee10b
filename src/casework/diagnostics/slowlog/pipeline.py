"""Running a digest over inputs: detection, streaming, and chunked multiprocessing for large files.

A large plain file of an engine that can cut itself (``chunk_start`` + ``parse_text``: MySQL, PostgreSQL, MongoDB's
line-per-entry formats, which ``chunk_format`` picks from the head) is split
into byte ranges on entry boundaries and digested by a process pool — one worker per core. A task is a run of
consecutive ranges (``plan_tasks``), read one range at a time and folded into one
:class:`~casework.diagnostics.slowlog.digest.Partial` in the worker, which the parent merges as it arrives. Everything else (compressed files,
stdin, small files, other engines) streams through the engine's ``parse`` in this process. Either way memory
is bounded by the number of shapes.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from types import ModuleType

from casework.diagnostics.report import InputError
from casework.diagnostics.slowlog import detect, fastscan, reader
from casework.diagnostics.slowlog.digest import Digest, Options, Partial, finish
from casework.diagnostics.slowlog.entry import ParseStats

PARALLEL_MIN_BYTES = 32 << 20  # below this, starting processes costs more than it saves
CHUNK_MIN = 2 << 20
CHUNK_MAX = 8 << 20  # a worker holds its chunk ~3 times (bytes, text, pieces): keeps the tree under 300 MB
ORDER_STRIDE = 1 << 20  # chunk order = file index * stride + chunk index
FAST = os.environ.get("CASEWORK_SLOWLOG_FAST", "1") != "0"  # chunk-level fast scan (fastscan.py) for SQL logs

Progress = Callable[[int], None]


def total_bytes(paths: Sequence[str]) -> int:
    total = 0
    for p in paths:
        if p != "-":
            try:
                total += os.path.getsize(p)
            except OSError:
                pass
    return total


def digest_inputs(
    paths: Sequence[str],
    *,
    options: Options,
    input_format: str | None = None,
    redis_url: str | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Digest:
    """Digest every file (and a live Redis) into one :class:`Digest`."""
    workers = workers or os.cpu_count() or 1
    total = Partial()
    used: dict[str, ModuleType] = {}
    for index, path in enumerate(paths):
        src = reader.describe(path)
        stream = reader.open_binary(src)
        try:
            part, module = _digest_file(src, stream, index, options=options, input_format=input_format,
                                        workers=workers, progress=progress)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(f"corrupt or truncated compressed data ({exc})", source=src.name) from None
        except OSError as exc:
            if not src.compressed or isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
                raise
            raise InputError(f"corrupt or truncated compressed data ({exc})", source=src.name) from None
        finally:
            stream.close()
        used[module.ENGINE] = module
        total.merge(part)
    if redis_url:
        module = detect.engines().get("redis")
        if module is None or not hasattr(module, "live_entries"):
            raise InputError("--redis: the Redis engine is not available in this build")
        used["redis"] = module
        part = Partial()
        part.add_entries(module.live_entries(redis_url, stats=part.stats), options=options,
                         order=len(paths) * ORDER_STRIDE)
        total.merge(part)
    return finish(total, options=options, engines=used)


def _digest_file(src: reader.Source, stream, index: int, *, options: Options, input_format: str | None,  # type: ignore[no-untyped-def]
                 workers: int, progress: Progress | None) -> tuple[Partial, ModuleType]:
    head_bytes = stream.read(detect.SNIFF_BYTES)
    head_stats = ParseStats()
    head = reader.decode(head_bytes, head_stats)
    if not head.strip():
        raise InputError("empty file: no slow-log entries to digest", source=src.name)
    if input_format:
        module, fmt = detect.for_format(input_format)
    else:
        module, fmt = detect.detect(head, source=src.name), None
    order = index * ORDER_STRIDE
    chunkable = hasattr(module, "chunk_start") and hasattr(module, "parse_text")
    chunk_fmt = fmt
    if chunkable and hasattr(module, "chunk_format"):
        # An engine with sub-formats decides from the head whether its chunks can be parsed alone, and with
        # which sub-format (a chunk's first line must not re-detect it).
        chunk_fmt = module.chunk_format(head, fmt)
        chunkable = chunk_fmt is not None
    if (
        workers > 1
        and not src.compressed
        and src.path is not None
        and (src.size or 0) >= PARALLEL_MIN_BYTES
        and chunkable
    ):
        stream.close()
        part = _parallel(src, module, chunk_fmt, options=options, order=order, workers=workers,
                         progress=progress)
    else:
        part = _sequential(stream, head_bytes, src, module, fmt, options=options, order=order,
                           progress=progress)
    return part, module


def _sequential(stream, head: bytes, src: reader.Source, module: ModuleType, fmt: str | None, *,  # type: ignore[no-untyped-def]
                options: Options, order: int, progress: Progress | None) -> Partial:
    part = Partial()
    stats = part.stats
    if progress is not None and src.size:
        progress(len(head) if not src.compressed else 0)

    def chained():  # type: ignore[no-untyped-def]
        # The sniffed head is the start of the data: hand it back to the parser before the rest.
        for block in reader.blocks(_Chain(head, stream), stats, on_bytes=_progress_rest(progress, src, len(head))):
            yield from reader.split_lines(block)

    entries = module.parse(chained(), source=src.name, stats=stats, fmt=fmt)
    part.add_entries(entries, options=options, order=order)
    part.unparsed_at = [(order, src.name, n) for n in stats.unparsed_lines]
    part.line_offsets[order] = 0
    return part


def _progress_rest(progress: Progress | None, src: reader.Source, skip: int) -> Progress | None:
    """Report bytes read after the head (which was already reported); compressed sizes are not comparable."""
    if progress is None or src.compressed or src.size is None:
        return None
    state = {"skip": skip}

    def report(n: int) -> None:
        if state["skip"] > 0:
            used = min(n, state["skip"])
            state["skip"] -= used
            n -= used
        if n:
            progress(n)

    return report


class _Chain:
    """A read() over the already-read head and then the rest of the stream."""

    def __init__(self, head: bytes, stream) -> None:  # type: ignore[no-untyped-def]
        self._head = head
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            return out
        return self._stream.read(n)


# -- parallel ---------------------------------------------------------------------------------------------------


def plan_chunks(path: str, size: int, module: ModuleType, *, workers: int) -> list[tuple[int, int]]:
    """Byte ranges that start on an entry boundary (``module.chunk_start``) and cover the whole file.

    Guided sizes: a chunk is at most a ``2 * workers``-th of what is left (between CHUNK_MIN and CHUNK_MAX), so
    the chunks shrink towards the end of the file and the workers finish close together instead of one worker
    running a last full-size chunk alone."""
    cuts = [0]
    with open(path, "rb") as fh:
        pos = min(CHUNK_MAX, max(CHUNK_MIN, size // (workers * 2) + 1))
        while pos < size:
            fh.seek(pos)
            window = fh.read(1 << 20)
            i = module.chunk_start(window)
            if i < 0:  # no boundary in this window: merge with the next chunk
                pos += 1 << 20
                continue
            cut = pos + i
            if cut > cuts[-1]:
                cuts.append(cut)
            pos = cut + min(CHUNK_MAX, max(CHUNK_MIN, (size - cut) // (workers * 2) + 1))
    cuts.append(size)
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def plan_tasks(chunks: Sequence[tuple[int, int]], *, workers: int) -> list[list[int]]:
    """Consecutive chunks grouped into the pool's tasks (indexes into ``chunks``), with guided sizes as the chunks
    have: a task takes chunks until it holds at least a ``2 * workers``-th of what is left.

    A worker digests a task's chunks one after the other (one chunk in memory at a time) into one partial, so
    the parent unpickles and merges one partial per task instead of one per chunk: each partial holds every shape
    of its range (~600 for the benchmark's MongoDB log), whatever the range's size."""
    tasks: list[list[int]] = []
    left = sum(end - start for start, end in chunks)
    i = 0
    while i < len(chunks):
        want = max(1, left // (workers * 2))
        task: list[int] = []
        got = 0
        while i < len(chunks) and got < want:
            got += chunks[i][1] - chunks[i][0]
            task.append(i)
            i += 1
        left -= got
        tasks.append(task)
    return tasks


def _parallel(src: reader.Source, module: ModuleType, fmt: str | None, *, options: Options, order: int,
              workers: int, progress: Progress | None) -> Partial:
    assert src.path is not None and src.size is not None
    chunks = plan_chunks(src.path, src.size, module, workers=workers)
    tasks = plan_tasks(chunks, workers=workers)
    total = Partial()
    line_counts: dict[int, int] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending = {
            pool.submit(_digest_chunks, src.path, src.name, [(*chunks[i], order + i) for i in task], module.ENGINE,
                        fmt, options): task
            for task in tasks
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                task = pending.pop(fut)
                part, lines = fut.result()
                for i, n in zip(task, lines, strict=True):
                    line_counts[i] = n
                total.merge(part)
                if progress is not None:
                    progress(sum(chunks[i][1] - chunks[i][0] for i in task))
    before = 0
    for i in range(len(chunks)):
        total.line_offsets[order + i] = before
        before += line_counts[i]
    return total


def _digest_chunks(path: str, name: str, ranges: Sequence[tuple[int, int, int]], engine: str, fmt: str | None,
                   options: Options) -> tuple[Partial, list[int]]:
    """Worker: digest each ``(start, end, order)`` range in turn into one partial, in file order; the line count of
    each range. Entries are folded straight into the task's partial (as a streamed digest folds them); a range the
    fast scan takes (SQL) gets a fresh partial, as the scan requires, merged in as the parent merges partials."""
    total: Partial | None = None
    lines: list[int] = []
    for start, end, order in ranges:
        if total is None or (FAST and engine in fastscan.ENGINES):
            part, n = _digest_chunk(path, name, start, end, engine, fmt, options, order)
            if total is None:
                total = part
            else:
                total.merge(part)
        else:
            stats = ParseStats()
            n = _fold_chunk(total, stats, path, name, start, end, engine, fmt, options, order)
            total.stats.merge(stats)
            total.unparsed_at.extend((order, name, k) for k in stats.unparsed_lines)
        lines.append(n)
    assert total is not None
    return total, lines


def _read_chunk(path: str, start: int, end: int, stats: ParseStats) -> str:
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    return reader.decode(data, stats)


def _fold_chunk(part: Partial, stats: ParseStats, path: str, name: str, start: int, end: int, engine: str,
                fmt: str | None, options: Options, order: int) -> int:
    """Parse one byte range and fold its entries into ``part`` (what the parser saw goes to ``stats``); its line
    count."""
    text = _read_chunk(path, start, end, stats)
    part.add_entries(detect.engines()[engine].parse_text(text, source=name, stats=stats, fmt=fmt), options=options,
                     order=order)
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def _digest_chunk(path: str, name: str, start: int, end: int, engine: str, fmt: str | None, options: Options,
                  order: int) -> tuple[Partial, int]:
    """Worker: read, decode, parse and fold one byte range; line numbers are relative to the range."""
    part = Partial()
    text = _read_chunk(path, start, end, part.stats)
    plain = not (options.exclude_internal or options.since or options.until or options.filters)
    if plain and FAST and engine in fastscan.ENGINES and fastscan.digest_text(
        engine, text, source=name, part=part, order=order, fmt=fmt
    ):
        lines = part.stats.lines  # the fast scan counted the chunk's lines (and only those) into a fresh Partial
    else:
        part.add_entries(detect.engines()[engine].parse_text(text, source=name, stats=part.stats, fmt=fmt),
                         options=options, order=order)
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    part.unparsed_at = [(order, name, n) for n in part.stats.unparsed_lines]
    return part, lines
