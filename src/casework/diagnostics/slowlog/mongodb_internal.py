"""Which MongoDB operations are the server's own work rather than the customer's traffic.

The seed ticket is the reason this exists: a customer saw ``getmore`` on ``local.oplog.rs`` by ``__system``
in the slow log and believed someone was querying their database. Secondaries (and change streams) tail the
oplog with a tailable ``awaitData`` cursor that waits up to ``maxTimeMS`` for new writes, so those entries are
"slow" by construction.
"""

from __future__ import annotations

OPLOG_NS = "local.oplog.rs"
OPLOG_TAILING = "oplog-tailing"

_INTERNAL_DBS = {"admin": "admin-namespace", "local": "local-namespace", "config": "config-namespace"}
_SESSIONS_NS = ("config.system.sessions", "config.transactions", "config.image_collection")
_BALANCER_NS = ("config.chunks", "config.locks", "config.migrations", "config.collections", "config.shards")


def classify(
    *,
    ns: str | None,
    op: str | None,
    user: str | None = None,
    ctx: str | None = None,
    tailing: bool = False,
) -> str | None:
    """The reason an operation is internal (``oplog-tailing``, ``sessions``, ``ttl-monitor``…) or None.

    ``tailing`` is True when the command (or the getMore's originating command) asked for a tailable
    ``awaitData`` cursor; ``ctx`` is the log's thread name (``TTLMonitor``, ``conn12``…).
    """
    ns = ns or ""
    if ns == OPLOG_NS or ns.startswith(OPLOG_NS + ".") or (tailing and ns.startswith("local.")):
        return OPLOG_TAILING
    if ctx:
        if ctx.startswith("TTLMonitor"):
            return "ttl-monitor"
        if "Balancer" in ctx or ctx.startswith("ChunkSplitter"):
            return "balancer"
        if ctx.startswith("LogicalSessionCache"):
            return "sessions"
    if ns.startswith(_SESSIONS_NS):
        return "sessions"
    if ns.startswith(_BALANCER_NS):
        return "balancer"
    if user == "__system":
        return "system-user"
    db, _, coll = ns.partition(".")
    if db in _INTERNAL_DBS:
        return _INTERNAL_DBS[db]
    if coll.startswith("system."):
        return "system-collection"
    return None
