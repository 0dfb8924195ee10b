"""Per-kind extra sections for the generic renderers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.diagnostics.report import Report

# A terminal section returns Rich renderables; a Markdown section returns Markdown text.
TerminalSection = Callable[["Report"], list[Any]]
MarkdownSection = Callable[["Report"], str]

_terminal: dict[str, TerminalSection] = {}
_markdown: dict[str, MarkdownSection] = {}

# Where each kind registers its sections. Rendering a report imports its module on first use, so any caller
# (the CLI, the desk, a script) gets the full report without knowing which module to import for its side effect.
SECTION_MODULES = {
    "slowlog": "casework.diagnostics.slowlog.render",
    "http": "casework.diagnostics.net.httprender",
    "mtr": "casework.diagnostics.net.mtr",
    "healthcheck": "casework.diagnostics.net.healthcheck",
}


def _load(kind: str) -> None:
    module = SECTION_MODULES.get(kind)
    if module is not None and kind not in _terminal:
        import importlib

        importlib.import_module(module)


def register_terminal_section(kind: str, fn: TerminalSection) -> TerminalSection:
    _terminal[kind] = fn
    return fn


def register_markdown_section(kind: str, fn: MarkdownSection) -> MarkdownSection:
    _markdown[kind] = fn
    return fn


def terminal_section(kind: str) -> TerminalSection | None:
    _load(kind)
    return _terminal.get(kind)


def markdown_section(kind: str) -> MarkdownSection | None:
    _load(kind)
    return _markdown.get(kind)
