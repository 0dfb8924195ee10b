"""A tiny aggregation of entries into Shapes, for testing parsers and findings without the digest."""

from __future__ import annotations

from collections import Counter, defaultdict

from casework.diagnostics.slowlog.entry import Entry, Shape


def shapes_from(entries: list[Entry]) -> list[Shape]:
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        groups[e.fingerprint].append(e)
    total_all = sum(e.duration_ms for e in entries) or 1.0
    out = []
    for fp, es in groups.items():
        durations = sorted(e.duration_ms for e in es)
        total = sum(durations)
        plans = Counter(e.plan for e in es if e.plan)
        first = es[0]
        out.append(
            Shape(
                fingerprint=fp,
                engine=first.engine,
                namespace=first.namespace,
                operation=first.operation,
                count=len(es),
                total_ms=total,
                mean_ms=total / len(es),
                min_ms=durations[0],
                max_ms=durations[-1],
                p50_ms=durations[len(durations) // 2],
                p95_ms=durations[int(len(durations) * 0.95)],
                p99_ms=durations[int(len(durations) * 0.99)],
                share=total / total_all,
                examined=sum(e.examined or 0 for e in es),
                returned=sum(e.returned or 0 for e in es),
                lock_ms=sum(e.lock_ms or 0 for e in es),
                plan=plans.most_common(1)[0][0] if plans else None,
                internal=first.internal,
                internal_reason=first.internal_reason,
                first_seen=min((e.ts for e in es if e.ts), default=None),
                last_seen=max((e.ts for e in es if e.ts), default=None),
                dbs=dict(Counter(e.db for e in es if e.db)),
                users=dict(Counter(e.user for e in es if e.user)),
                clients=dict(Counter(e.client for e in es if e.client)),
                example=first.example,
                example_source=first.source,
                example_line=first.line,
                histogram=[len(es)],
            )
        )
    return out
