"""Realistic MongoDB slow logs with a known truth, for the benchmark and the end-to-end tests.

Hundreds of query templates (find/aggregate/update/remove/count/insert on customer namespaces, plus oplog
tailing, session refreshes and TTL deletes) with Zipf-like frequencies; every entry gets fresh values
($in lists of varying length, dates, ids), so grouping must come from the shape, not the text. Each
template knows its expected fingerprint, written here independently of casework's fingerprinter, and the
generator returns count and total duration per fingerprint: the truth the digest must reproduce.

Two renderings of the same entries: mongod 4.4+ structured JSON (``--format json``) and the ≤ 4.2 text
log with the shell's syntax (``--format text``), with the usual non-query lines (connections,
authentication, checkpoints) in between.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

FIELDS = [
    "status",
    "customerId",
    "created",
    "updatedAt",
    "total",
    "region",
    "sku",
    "userId",
    "type",
    "score",
    "country",
    "tags",
    "email",
    "orderId",
    "state",
    "priority",
    "deviceId",
    "category",
    "amount",
    "level",
]
DBS = {
    "shop": ["orders", "users", "carts", "products", "payments", "invoices"],
    "app": ["events", "sessions_v2", "devices", "notifications", "audit"],
    "analytics": ["pageviews", "clicks", "daily_rollup"],
}
KINDS = ["eq", "eq", "eq", "range", "in", "exists", "ne", "nin"]


# --- values with a BSON type, rendered both as extended JSON and in the shell's syntax ---------------------


class Date:
    __slots__ = ("ms",)

    def __init__(self, ms: int) -> None:
        self.ms = ms


class Oid:
    __slots__ = ("hex",)

    def __init__(self, hex_: str) -> None:
        self.hex = hex_


class Ts:
    __slots__ = ("t", "i")

    def __init__(self, t: int, i: int) -> None:
        self.t, self.i = t, i


class Uuid:
    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s


def to_ejson(v):
    if isinstance(v, dict):
        return {k: to_ejson(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_ejson(x) for x in v]
    if isinstance(v, Date):
        return {"$date": datetime.fromtimestamp(v.ms / 1000, UTC).isoformat(timespec="milliseconds")}
    if isinstance(v, Oid):
        return {"$oid": v.hex}
    if isinstance(v, Ts):
        return {"$timestamp": {"t": v.t, "i": v.i}}
    if isinstance(v, Uuid):
        return {"$uuid": v.s}
    return v


def to_shell(v) -> str:
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{k}: {to_shell(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[ " + ", ".join(to_shell(x) for x in v) + " ]" if v else "[]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Date):
        return f"new Date({v.ms})"
    if isinstance(v, Oid):
        return f"ObjectId('{v.hex}')"
    if isinstance(v, Ts):
        return f"Timestamp({v.t}, {v.i})"
    if isinstance(v, Uuid):
        return f'UUID("{v.s}")'
    if v is None:
        return "null"
    raise TypeError(type(v))


# --- templates ---------------------------------------------------------------------------------------------


@dataclass
class Template:
    op: str
    db: str
    coll: str
    filt: list[tuple[str, str]]
    sort: list[tuple[str, int]] = field(default_factory=list)
    proj: list[str] = field(default_factory=list)
    set_fields: list[str] = field(default_factory=list)
    group: tuple[str, str] | None = None
    or_fields: list[str] = field(default_factory=list)
    plan: str = "COLLSCAN"
    mu: float = 5.5
    internal: bool = False
    expected: str = ""
    weight: float = 1.0

    @property
    def ns(self) -> str:
        return f"{self.db}.{self.coll}"


def _filter_shape(t: Template) -> str:
    parts = []
    for name, kind in t.filt:
        parts.append(
            {
                "eq": f"{name}: ?",
                "range": f"{name}: {{$gte: ?, $lt: ?}}",
                "in": f"{name}: {{$in: [?]}}",
                "exists": f"{name}: {{$exists: ?}}",
                "ne": f"{name}: {{$ne: ?}}",
                "nin": f"{name}: {{$nin: [?]}}",
            }[kind]
        )
    if t.or_fields:
        parts.append("$or: [" + ", ".join(f"{{{f}: ?}}" for f in t.or_fields) + "]")
    return "{" + ", ".join(parts) + "}"


def expected_fingerprint(t: Template) -> str:
    """The fingerprint casework documents for this template (docs/slowlog-mongodb-redis.md)."""
    if t.op == "oplog":
        return "getmore local.oplog.rs find filter={ts: {$gte: ?}} tailable awaitData oplogReplay"
    if t.op == "sessions":
        return "update config.system.sessions q={_id: {id: ?, uid: ?}} u={$currentDate: {lastUse: ?}} multi=? upsert=?"
    if t.op == "ttl":
        return f"remove {t.ns} q={{expiresAt: {{$lt: ?}}}} limit=?"
    if t.op == "insert":
        return f"insert {t.ns}"
    f = _filter_shape(t)
    if t.op == "find":
        out = f"find {t.ns} filter={f}"
        if t.sort:
            out += " sort={" + ", ".join(f"{k}: {d}" for k, d in t.sort) + "}"
        if t.proj:
            out += " projection={" + ", ".join(f"{k}: 1" for k in t.proj) + "}"
        return out
    if t.op == "count":
        return f"count {t.ns} query={f}"
    if t.op == "aggregate":
        key, acc = t.group or ("status", "amount")
        stages = [
            f"{{$match: {f}}}",
            f"{{$group: {{_id: ${key}, total: {{$sum: ${acc}}}}}}}",
            "{$sort: {total: -1}}",
            "{$limit: ?}",
        ]
        return f"aggregate {t.ns} pipeline=[{', '.join(stages)}]"
    if t.op == "update":
        u = "{$set: {" + ", ".join(f"{k}: ?" for k in t.set_fields) + "}}"
        return f"update {t.ns} q={f} u={u} multi=? upsert=?"
    if t.op == "remove":
        return f"remove {t.ns} q={f} limit=?"
    raise ValueError(t.op)


def make_templates(rng: random.Random, n: int) -> list[Template]:
    out: list[Template] = []
    seen: set[str] = set()
    ops = ["find"] * 6 + ["aggregate", "update", "update", "remove", "count", "insert"]
    namespaces = [(db, c) for db, cs in DBS.items() for c in cs]
    while len(out) < n:
        op = rng.choice(ops)
        db, coll = rng.choice(namespaces)
        fields = rng.sample(FIELDS, rng.randint(1, 4))
        filt = [(f, rng.choice(KINDS)) for f in fields]
        t = Template(op=op, db=db, coll=coll, filt=filt)
        if op == "find" and rng.random() < 0.5:
            t.sort = [(rng.choice(FIELDS), rng.choice([1, -1]))]
        if op == "find" and rng.random() < 0.3:
            t.proj = rng.sample(FIELDS, 2)
        if rng.random() < 0.1:
            t.or_fields = rng.sample(FIELDS, 2)
        if op == "update":
            t.set_fields = rng.sample(FIELDS, rng.randint(1, 3))
        if op == "aggregate":
            t.group = (rng.choice(FIELDS), rng.choice(FIELDS))
        t.plan = "COLLSCAN" if rng.random() < 0.35 else f"IXSCAN {{ {fields[0]}: 1 }}"
        t.mu = rng.uniform(4.8, 7.5)
        t.expected = expected_fingerprint(t)
        if t.expected not in seen:
            seen.add(t.expected)
            out.append(t)
    # The server's own work, always present in a real replica set.
    for op, db, coll in (
        ("oplog", "local", "oplog.rs"),
        ("sessions", "config", "system.sessions"),
        ("ttl", "app", "sessions_v2"),
    ):
        t = Template(op=op, db=db, coll=coll, filt=[], internal=True, mu=6.7 if op == "oplog" else 5.0)
        t.plan = "COLLSCAN" if op == "oplog" else "IXSCAN { _id: 1 }"
        t.expected = expected_fingerprint(t)
        out.append(t)
    # Zipf-like: the k-th most frequent template gets weight 1/k.
    order = list(range(len(out)))
    rng.shuffle(order)
    for rank, i in enumerate(order, 1):
        out[i].weight = 1.0 / rank
    return out


# --- one entry ---------------------------------------------------------------------------------------------


def _value(rng: random.Random, name: str):
    r = rng.random()
    if name in ("created", "updatedAt"):
        return Date(1_700_000_000_000 + rng.randrange(10**10))
    if name.endswith("Id"):
        return Oid(f"{rng.getrandbits(96):024x}") if r < 0.7 else rng.randrange(10**9)
    if r < 0.5:
        return rng.choice(["paid", "new", "shipped", "cancelled", "cn-north", "eu-west", "gold", "silver"])
    if r < 0.8:
        return rng.randrange(100000)
    return round(rng.random() * 1000, 2)


def _filter(rng: random.Random, t: Template) -> dict:
    doc = {}
    for name, kind in t.filt:
        if kind == "eq":
            doc[name] = _value(rng, name)
        elif kind == "range":
            doc[name] = {"$gte": _value(rng, name), "$lt": _value(rng, name)}
        elif kind == "in":
            doc[name] = {"$in": [_value(rng, name) for _ in range(rng.randint(1, 40))]}
        elif kind == "exists":
            doc[name] = {"$exists": rng.random() < 0.5}
        elif kind == "ne":
            doc[name] = {"$ne": _value(rng, name)}
        else:
            doc[name] = {"$nin": [_value(rng, name) for _ in range(rng.randint(1, 8))]}
    if t.or_fields:
        doc["$or"] = [{f: _value(rng, f)} for f in t.or_fields]
    return doc


def build_entry(rng: random.Random, t: Template, now_ms: int) -> tuple[str, dict, dict | None, int, dict]:
    """(type, command, originatingCommand, duration ms, stats) of one operation of template ``t``."""
    lsid = {"id": Uuid(str(uuid.UUID(int=rng.getrandbits(128), version=4))), "uid": Oid(f"{7:024x}")}
    common = {
        "lsid": lsid,
        "$clusterTime": {"clusterTime": Ts(now_ms // 1000, rng.randint(1, 50))},
        "$db": t.db,
    }
    duration = max(100, int(rng.lognormvariate(t.mu, 0.8)))
    orig = None
    typ = "command"
    if t.op == "oplog":
        cmd = {
            "getMore": rng.getrandbits(40),
            "collection": "oplog.rs",
            "batchSize": 13981010,
            "maxTimeMS": 5000,
            "term": 1,
            "lastKnownCommittedOpTime": {"ts": Ts(now_ms // 1000, 72), "t": 1},
            "$db": "local",
        }
        orig = {
            "find": "oplog.rs",
            "filter": {"ts": {"$gte": Ts(now_ms // 1000 - 86400, 1)}},
            "tailable": True,
            "oplogReplay": True,
            "awaitData": True,
            "maxTimeMS": 60000,
            "term": 1,
        }
        duration = rng.randint(700, 5000)
    elif t.op == "sessions":
        typ = "update"
        cmd = {
            "q": {"_id": {"id": Uuid(str(uuid.uuid4())), "uid": Oid(f"{9:024x}")}},
            "u": {"$currentDate": {"lastUse": True}},
            "multi": False,
            "upsert": True,
        }
    elif t.op == "ttl":
        typ = "remove"
        cmd = {"q": {"expiresAt": {"$lt": Date(now_ms)}}, "limit": 0}
    elif t.op == "insert":
        cmd = {"insert": t.coll, "ordered": True, **common}
    elif t.op == "find":
        cmd = {"find": t.coll, "filter": _filter(rng, t)}
        if t.sort:
            cmd["sort"] = dict(t.sort)
        if t.proj:
            cmd["projection"] = {k: 1 for k in t.proj}
        cmd["limit"] = rng.choice([1, 20, 50, 100])
        cmd.update(common)
    elif t.op == "count":
        cmd = {"count": t.coll, "query": _filter(rng, t), **common}
    elif t.op == "aggregate":
        key, acc = t.group or ("status", "amount")
        cmd = {
            "aggregate": t.coll,
            "pipeline": [
                {"$match": _filter(rng, t)},
                {"$group": {"_id": f"${key}", "total": {"$sum": f"${acc}"}}},
                {"$sort": {"total": -1}},
                {"$limit": rng.randint(5, 50)},
            ],
            "cursor": {},
            **common,
        }
    elif t.op == "update":
        typ = "update"
        cmd = {
            "q": _filter(rng, t),
            "u": {"$set": {k: _value(rng, k) for k in t.set_fields}},
            "multi": rng.random() < 0.3,
            "upsert": False,
        }
    else:  # remove
        typ = "remove"
        cmd = {"q": _filter(rng, t), "limit": rng.choice([0, 1])}
    examined = rng.randint(0, 500) if t.plan.startswith("IXSCAN") else rng.randint(10_000, 2_000_000)
    stats = {
        "keysExamined": examined if t.plan.startswith("IXSCAN") else 0,
        "docsExamined": examined,
        "nreturned": rng.randint(0, 100),
        "numYields": examined // 128,
        "lockWaitMicros": rng.choice([0, 0, 0, 0, rng.randint(1000, duration * 900)]),
    }
    return typ, cmd, orig, duration, stats


NOISE = [
    "connection accepted from {ip}:{port} #{n} ({m} connections now open)",
    "end connection {ip}:{port} ({m} connections now open)",
    "Successfully authenticated as principal app_user on shop from client {ip}:{port}",
]


def json_line(
    t: Template, typ: str, cmd: dict, orig, duration: int, stats: dict, when: datetime, conn: int, ip: str
) -> str:
    attr = {"type": typ, "ns": t.ns}
    if t.op not in ("oplog", "ttl", "sessions"):
        attr["appName"] = "shop-api"
    attr["command"] = to_ejson(cmd)
    if orig is not None:
        attr["originatingCommand"] = to_ejson(orig)
    attr["planSummary"] = t.plan
    attr.update({k: stats[k] for k in ("keysExamined", "docsExamined", "numYields", "nreturned")})
    attr["queryHash"] = "%08X" % (hash(t.expected) & 0xFFFFFFFF)
    attr["reslen"] = 100 + stats["nreturned"] * 120
    locks = {
        "ReplicationStateTransition": {"acquireCount": {"w": 2}},
        "Global": {"acquireCount": {"r": 2}},
        "Database": {"acquireCount": {"r": 1}},
        "Collection": {"acquireCount": {"r": 1}},
    }
    if stats["lockWaitMicros"]:
        locks["Database"]["acquireWaitCount"] = {"r": 1}
        locks["Database"]["timeAcquiringMicros"] = {"r": stats["lockWaitMicros"]}
    attr["locks"] = locks
    attr["storage"] = {"data": {"bytesRead": stats["docsExamined"] * 310, "timeReadingMicros": duration * 40}}
    attr["remote"] = f"{ip}:{40000 + conn % 20000}"
    attr["protocol"] = "op_msg"
    attr["durationMillis"] = duration
    ctx = (
        "TTLMonitor"
        if t.op == "ttl"
        else ("LogicalSessionCacheRefresh" if t.op == "sessions" else f"conn{conn}")
    )
    doc = {
        "t": {"$date": when.isoformat(timespec="milliseconds")},
        "s": "I",
        "c": "COMMAND",
        "id": 51803,
        "ctx": ctx,
        "msg": "Slow query",
        "attr": attr,
    }
    return orjson.dumps(doc).decode() + "\n"


def text_line(
    t: Template, typ: str, cmd: dict, orig, duration: int, stats: dict, when: datetime, conn: int
) -> str:
    ts = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"
    ctx = (
        "TTLMonitor"
        if t.op == "ttl"
        else ("LogicalSessionCacheRefresh" if t.op == "sessions" else f"conn{conn}")
    )
    app = ' appName: "shop-api"' if t.op not in ("oplog", "ttl", "sessions") else ""
    locks = "locks:{ Global: { acquireCount: { r: 2 } }, Database: { acquireCount: { r: 1 }"
    if stats["lockWaitMicros"]:
        locks += f", acquireWaitCount: {{ r: 1 }}, timeAcquiringMicros: {{ r: {stats['lockWaitMicros']} }}"
    locks += " }, Collection: { acquireCount: { r: 1 } } }"
    plan = f" planSummary: {t.plan}"
    counters = (
        f" keysExamined:{stats['keysExamined']} docsExamined:{stats['docsExamined']}"
        f" numYields:{stats['numYields']}"
    )
    if typ in ("update", "remove"):
        comp = "WRITE   "
        body = f"{typ} {t.ns}{app} command: {to_shell(cmd)}{plan}{counters} {locks} {duration}ms"
    else:
        comp = "COMMAND "
        name = next(iter(cmd))
        body = f"command {t.ns}{app} command: {name} {to_shell(cmd)}"
        if orig is not None:
            body += f" originatingCommand: {to_shell(orig)}"
        body += (
            f"{plan}{counters} nreturned:{stats['nreturned']} reslen:{100 + stats['nreturned'] * 120}"
            f" {locks} protocol:op_msg {duration}ms"
        )
    return f"{ts} I {comp} [{ctx}] {body}\n"


def generate(path: Path, *, fmt: str, size_mb: float, seed: int = 7, templates: int = 400) -> dict:
    """Write a log of about ``size_mb`` MB; return {fingerprint: {"count", "total_ms", "internal"}}."""
    rng = random.Random(seed)
    temps = make_templates(rng, templates)
    weights = [t.weight for t in temps]
    truth: dict[str, dict] = {t.expected: {"count": 0, "total_ms": 0, "internal": t.internal} for t in temps}
    when = datetime(2024, 3, 11, 1, 0, 0, tzinfo=UTC)
    limit = int(size_mb * 1_000_000)
    written = 0
    conn = 1000
    batch: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        while written < limit:
            for t in rng.choices(temps, weights, k=500):
                when += timedelta(milliseconds=rng.randint(1, 400))
                conn += rng.random() < 0.05
                ip = f"10.{(conn >> 8) & 255}.{conn & 255}.{7 + conn % 5}"
                if rng.random() < 0.25:
                    msg = rng.choice(NOISE).format(
                        ip=ip, port=40000 + conn % 20000, n=conn, m=300 + conn % 50
                    )
                    if fmt == "json":
                        batch.append(
                            orjson.dumps(
                                {
                                    "t": {"$date": when.isoformat(timespec="milliseconds")},
                                    "s": "I",
                                    "c": "NETWORK",
                                    "id": 22943,
                                    "ctx": "listener",
                                    "msg": msg,
                                }
                            ).decode()
                            + "\n"
                        )
                    else:
                        batch.append(
                            when.strftime("%Y-%m-%dT%H:%M:%S.000+0000") + f" I NETWORK  [listener] {msg}\n"
                        )
                typ, cmd, orig, duration, stats = build_entry(rng, t, int(when.timestamp() * 1000))
                if fmt == "json":
                    batch.append(json_line(t, typ, cmd, orig, duration, stats, when, conn, ip))
                else:
                    batch.append(text_line(t, typ, cmd, orig, duration, stats, when, conn))
                truth[t.expected]["count"] += 1
                truth[t.expected]["total_ms"] += duration
            chunk = "".join(batch)
            batch.clear()
            out.write(chunk)
            written += len(chunk.encode())
    return {k: v for k, v in truth.items() if v["count"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--format", choices=["json", "text"], default="json")
    ap.add_argument("--size-mb", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--truth", type=Path, help="write the per-shape truth as JSON here")
    args = ap.parse_args()
    truth = generate(args.out, fmt=args.format, size_mb=args.size_mb, seed=args.seed)
    if args.truth:
        args.truth.write_text(json.dumps(truth, indent=1))
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, {len(truth)} shapes", file=sys.stderr)


if __name__ == "__main__":
    main()
