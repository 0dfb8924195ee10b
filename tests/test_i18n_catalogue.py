"""The Simplified Chinese catalogue covers every user-facing string, and keeps covering it when it is regenerated.

``makemessages`` (Django's wrapper of xgettext, over the desk's templates and all Python code, the CLI's included)
is run on a copy of the source tree, merging into a copy of the shipped catalogue. Then:

- nothing the code marks for translation is missing or fuzzy in the catalogue (it would show in English to a
  Chinese reader);
- nothing in the shipped catalogue turns obsolete (a string the code uses in a way xgettext cannot see — inside an
  f-string, through an alias — would be dropped the next time someone regenerates the catalogue);
- ``msgfmt --check`` accepts the shipped catalogue (placeholders of each translation match its msgid).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "casework"
PO = SRC / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"{tool} (Debian's gettext) is missing: CI must have it")
        pytest.skip(reason=f"{tool} (Debian's gettext) is not installed here")


def _entries(text: str) -> list[tuple[str, str, str]]:
    """(msgid, msgstr, the entry's comment lines) of each entry; obsolete entries (#~) have msgid prefixed "#~"."""
    out = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines:
            continue
        if all(line.startswith("#~") for line in lines if not line.startswith("#,")):
            body = "\n".join(line[3:] for line in lines if line.startswith("#~"))
            prefix = "#~"
        else:
            body = "\n".join(line for line in lines if not line.startswith("#"))
            prefix = ""
        mid = re.search(r'^msgid ((?:".*"\n?)+)', body + "\n", re.M)
        mstr = re.search(r'^msgstr ((?:".*"\n?)+)', body + "\n", re.M)
        if mid is None:
            continue
        msgid = "".join(re.findall(r'"(.*)"', mid.group(1)))
        msgstr = "".join(re.findall(r'"(.*)"', mstr.group(1))) if mstr else ""
        comments = "\n".join(line for line in lines if line.startswith("#") and not line.startswith("#~"))
        if msgid:
            out.append((prefix + msgid, msgstr, comments))
    return out


def test_regenerating_the_catalogue_keeps_every_string_translated(tmp_path: Path) -> None:
    _require("xgettext")
    tree = tmp_path / "casework"
    shutil.copytree(SRC, tree, ignore=shutil.ignore_patterns("*.so", "__pycache__", "*.mo"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "casework.desk.settings", "PYTHONPATH": str(SRC.parent)}
    proc = subprocess.run([sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location", "-v", "0"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    entries = _entries((tree / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))
    obsolete = [m[2:] for m, _s, _c in entries if m.startswith("#~")]
    untranslated = [m for m, s, c in entries if not m.startswith("#~") and (not s or "fuzzy" in c)]
    assert not obsolete, f"marked in the catalogue but no longer found by makemessages: {obsolete}"
    assert not untranslated, f"found by makemessages but not translated: {untranslated}"
    shipped = {m for m, _s, _c in _entries(PO.read_text(encoding="utf-8"))}
    extracted = {m for m, _s, _c in entries if not m.startswith("#~")}
    assert shipped <= extracted and len(extracted) > 700


def test_the_shipped_catalogue_passes_msgfmt_check(tmp_path: Path) -> None:
    _require("msgfmt")
    proc = subprocess.run(["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(PO)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
