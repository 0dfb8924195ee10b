"""The shared result model of every analyzer: a :class:`Report` holding ranked :class:`Finding` objects.

Finding codes are stable identifiers (like lint rule codes, see ``docs/findings.md``); scripts match on them,
so a code is never renamed once shipped — add a new one instead.

Text fields (``title``, ``detail``, ``advice``) are produced already translated: analyzers call
``casework.i18n.gettext`` while the caller's language is active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from casework.i18n import gettext_noop


class Severity(StrEnum):
    """How much a finding matters for the customer's problem; reports sort on it first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


# The severities' names as the renderers translate them (``_(severity.value)``), marked for makemessages.
_SEVERITY_WORDS = (gettext_noop("critical"), gettext_noop("high"), gettext_noop("medium"), gettext_noop("low"),
                   gettext_noop("info"))

_SEVERITY_RANK = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
    Severity.INFO: 4,
}


@dataclass(slots=True)
class Finding:
    """One conclusion with the evidence behind it and what to do about it."""

    code: str
    severity: Severity
    title: str
    detail: str
    advice: str
    evidence: dict[str, Any] = field(default_factory=dict)
    # A sentence or two the engineer can paste to the customer; defaults to detail + advice when empty.
    reply: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "detail": self.detail,
            "evidence": self.evidence,
            "advice": self.advice,
            "reply": self.reply or f"{self.detail} {self.advice}".strip(),
        }


@dataclass(slots=True)
class Report:
    """What one analyzer concluded about one artifact.

    ``kind`` names the analyzer (``slowlog``, ``http``, ``mtr``, ``healthcheck``) and fixes the shape of
    ``data``, whose keys are merged into the top level of the JSON document next to ``kind`` and
    ``findings``. ``title`` is a one-line heading for the terminal and Markdown renderers.
    """

    kind: str
    title: str
    data: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def ranked(self) -> list[Finding]:
        """Findings most severe first; the analyzer's own order breaks ties (it knows what matters more)."""
        return sorted(self.findings, key=lambda f: f.severity.rank)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind}
        doc.update(self.data)
        doc["findings"] = [f.to_dict() for f in self.ranked()]
        return doc


class InputError(Exception):
    """Bad input, reported to the user as one line naming the file and line (or field); exit code 2."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = self.source or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message
