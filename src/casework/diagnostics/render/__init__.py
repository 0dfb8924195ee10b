"""Renderers shared by every analyzer: terminal (Rich), JSON and Markdown.

Each renderer prints the findings the same way for every kind of report; an analyzer adds the part only it
knows how to show (the shape table of a slow log, the hop table of an mtr report) by registering a *section*
for its ``kind`` with :func:`register_terminal_section` / :func:`register_markdown_section`.
"""

from __future__ import annotations

from casework.diagnostics.render.registry import (
    register_markdown_section,
    register_terminal_section,
)

__all__ = ["register_markdown_section", "register_terminal_section"]
