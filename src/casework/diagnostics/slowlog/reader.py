"""Opening inputs: plain files, gzip/bzip2 (by magic bytes, not by name), and ``-`` for stdin.

Bytes are decoded as UTF-8; a block that is not valid UTF-8 (GBK, Latin-1 logs) is decoded line by line with
replacement characters, and those lines are counted (``ParseStats.decode_errors``) rather than failing the run.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from casework.diagnostics.slowlog.entry import ParseStats

BLOCK = 4 << 20


@dataclass(slots=True)
class Source:
    name: str
    path: str | None  # None for stdin
    size: int | None  # bytes on disk (None for stdin)
    compressed: bool


def describe(path: str) -> Source:
    if path == "-":
        return Source(name="<stdin>", path=None, size=None, compressed=False)
    size = os.path.getsize(path)  # raises FileNotFoundError / PermissionError for the command to report
    if os.path.isdir(path):
        raise IsADirectoryError(21, "is a directory", path)
    with open(path, "rb") as fh:
        magic = fh.read(3)
    return Source(name=path, path=path, size=size, compressed=magic[:2] == b"\x1f\x8b" or magic == b"BZh")


def open_binary(src: Source) -> BinaryIO:
    if src.path is None:
        return _Peekable(sys.stdin.buffer)  # type: ignore[return-value]
    raw = open(src.path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    magic = raw.peek(3)[:3] if hasattr(raw, "peek") else b""
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if magic == b"BZh":
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    return raw


class _Peekable(io.RawIOBase):
    """stdin may itself be gzip: look at the first bytes without losing them."""

    def __init__(self, stream: BinaryIO) -> None:
        head = stream.read(3)
        if head[:2] == b"\x1f\x8b":
            self._inner: BinaryIO = gzip.GzipFile(fileobj=_Prepend(head, stream))  # type: ignore[assignment]
        elif head == b"BZh":
            self._inner = bz2.BZ2File(_Prepend(head, stream))  # type: ignore[assignment]
        else:
            self._inner = _Prepend(head, stream)  # type: ignore[assignment]

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._inner.read(n)


class _Prepend(io.RawIOBase):
    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                out, self._head = self._head + self._stream.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            if len(out) < n:
                out += self._stream.read(n - len(out))
            return out
        return self._stream.read(n)

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def decode(data: bytes, stats: ParseStats) -> str:
    """UTF-8, or per line with replacement (counted) when the block holds other encodings."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    out = []
    for line in data.splitlines(keepends=True):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            stats.decode_errors += 1
            out.append(line.decode("utf-8", errors="replace"))
    return "".join(out)


def blocks(stream: BinaryIO, stats: ParseStats, *, on_bytes=None) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Decoded text in blocks that end on a line boundary."""
    rest = b""
    while True:
        data = stream.read(BLOCK)
        if not data:
            break
        if on_bytes is not None:
            on_bytes(len(data))
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        rest = data[cut:]
        yield decode(data[:cut], stats)
    if rest:
        yield decode(rest, stats)


def lines(stream: BinaryIO, stats: ParseStats, *, on_bytes=None) -> Iterator[str]:  # type: ignore[no-untyped-def]
    for block in blocks(stream, stats, on_bytes=on_bytes):
        yield from split_lines(block)


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split on '\\n' only (``str.splitlines`` would also split on \\x0b, \\x1c…,
    which log statements may contain, and line numbers would drift from the file's)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out
