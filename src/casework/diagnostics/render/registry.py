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


def register_terminal_section(kind: str, fn: TerminalSection) -> TerminalSection:
    _terminal[kind] = fn
    return fn


def register_markdown_section(kind: str, fn: MarkdownSection) -> MarkdownSection:
    _markdown[kind] = fn
    return fn


def terminal_section(kind: str) -> TerminalSection | None:
    return _terminal.get(kind)


def markdown_section(kind: str) -> MarkdownSection | None:
    return _markdown.get(kind)
