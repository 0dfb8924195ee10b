"""Which engine wrote a file: every engine module ``sniff``\\ s the first 64 KiB and the most confident wins."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from casework.diagnostics.report import InputError

ENGINE_MODULES = ("mysql", "postgres", "mongodb", "redis")
SNIFF_BYTES = 64 * 1024


@cache
def engines() -> dict[str, ModuleType]:
    """The engine modules present, by ENGINE name."""
    found: dict[str, ModuleType] = {}
    for name in ENGINE_MODULES:
        qualified = f"casework.diagnostics.slowlog.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            # The MongoDB and Redis parsers are written in parallel with this module; until they land the
            # registry works with the engines that exist. Any other missing import is a real bug.
            if exc.name != qualified:
                raise
            continue
        found[module.ENGINE] = module
    return found


def formats() -> dict[str, ModuleType]:
    """Every ``--input-format`` value: the engine names and each module's sub-formats (``FORMATS``)."""
    out: dict[str, ModuleType] = {}
    for name, module in engines().items():
        out[name] = module
        for fmt in getattr(module, "FORMATS", ()):
            out[fmt] = module
    return out


def for_format(fmt: str) -> tuple[ModuleType, str | None]:
    """The module for a user-forced format; the sub-format is passed on unless it is just the engine name."""
    table = formats()
    module = table.get(fmt)
    if module is None:
        raise InputError(f"--input-format: unknown format {fmt!r} (use one of: {', '.join(sorted(table))})")
    return module, (None if fmt == module.ENGINE else fmt)


def detect(head: str, *, source: str) -> ModuleType:
    """The engine whose ``sniff`` is most confident about ``head``; a clean error when none recognises it."""
    if not head.strip():
        raise InputError("empty file: no slow-log entries to digest", source=source)
    best: tuple[int, ModuleType] | None = None
    for module in engines().values():
        try:
            score = int(module.sniff(head))
        except Exception:  # a sniffer must never take the run down; it just does not claim the file
            score = 0
        if score > 0 and (best is None or score > best[0]):
            best = (score, module)
    if best is None:
        names = ", ".join(sorted(formats()))
        raise InputError(
            f"not a slow log this tool recognises (try --input-format, one of: {names})", source=source
        )
    return best[1]
