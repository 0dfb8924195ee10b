"""What a case is findable by: error words and codes in Latin script, and Chinese as character bigrams.

Support text mixes "403 AccessDenied", "ERROR 1040 Too many connections", "SDK.ServerUnreachable" and
"健康检查异常": Latin tokens keep dots, colons and dashes inside them (so ``SDK.ServerUnreachable`` stays one
term, and its parts are added too); Chinese has no spaces, so runs of Han characters become overlapping bigrams
("健康检查" → 健康, 康检, 检查), the usual way to index CJK text without a dictionary.
"""

from __future__ import annotations

import re
from collections import Counter

MAX_TERM = 48
MAX_TERMS_PER_CASE = 300

_LATIN = re.compile(r"[a-z0-9][a-z0-9_.:/-]*[a-z0-9]|[a-z0-9]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_PARTS = re.compile(r"[._:/-]+")
# Identifiers unique to one ticket (request ids, instance ids, long hex) find nothing else; skip long hex-ish runs.
_UNIQUE_ID = re.compile(r"^(?=.*\d)[0-9a-f-]{12,}$|^(i|dds|rm|lb|vbr|r|c)-[0-9a-z]{8,}$")

STOPWORDS = frozenset(
    """a an and are as at be but by can could do does for from has have how i if in into is it its me my no not of
    on or our please so than that the their them then there these they this to too was we were what when where which
    who why will with you your after again all also any been before being both did each few more most other same
    should some such only own just now up down out over under very while hi hello thanks thank help issue problem
    我们 请问 谢谢 您好 你好 麻烦 一下 帮忙 问题 这个 那个 没有 已经 可以 什么 怎么 为什么 但是 还是 如果 因为 所以""".split()
)


def terms_of(text: str) -> Counter[str]:
    """Search terms of ``text`` with their counts (the same function indexes cases and reads queries)."""
    found: Counter[str] = Counter()
    lowered = text.lower()
    for token in _LATIN.findall(lowered):
        if len(token) > MAX_TERM or token in STOPWORDS or _UNIQUE_ID.match(token):
            continue
        if len(token) > 1 or token.isdigit():
            found[token] += 1
        parts = [p for p in _PARTS.split(token) if len(p) > 1 and p not in STOPWORDS]
        if len(parts) > 1:
            found.update(parts)
    for run in _HAN.findall(text):
        if len(run) == 1:
            found[run] += 1
            continue
        for i in range(len(run) - 1):
            gram = run[i : i + 2]
            if gram not in STOPWORDS:
                found[gram] += 1
    return found


def top_terms(text: str, limit: int = MAX_TERMS_PER_CASE) -> dict[str, int]:
    return dict(terms_of(text).most_common(limit))
