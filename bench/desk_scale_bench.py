"""The desk at scale: fill a database with a year of tickets, serve it with gunicorn, load it with wrk.

    .venv/bin/python bench/desk_scale_bench.py                      # PostgreSQL 1M/10M, then SQLite 100k/1M
    .venv/bin/python bench/desk_scale_bench.py --backend postgres --skip-fill   # measure an existing fill

PostgreSQL: a database of its own (``casework_bench``; never ``test``, which the test suite uses), filled with
``INSERT … SELECT generate_series`` (secondary indexes dropped during the load and rebuilt after). SQLite:
``var/bench/desk_bench.sqlite3`` filled with ``executemany``. People, lines and policies go through the ORM.

Distributions (same for both): a year of tickets, newest densest at the end; organisations 60 % basic / 30 %
business / 10 % enterprise with a power-law share of tickets; products weighted towards the busy lines
(compute, network, storage, database); severities 3/17/55/25 % P1-P4; tickets younger than 14 days are open
(new/assigned/in progress/pending/escalated), older ones resolved (10 %) or closed (90 %); 6-14 events
(mean 10) and 2 messages per ticket; one SLA row per ticket (running clocks on the open ones).

Measured with ``wrk`` (Debian) at 16 connections, each URL for ``--duration`` seconds after a warm-up:
the engineer queue page, the ticket page (rotating over 2,000 open tickets) and the API ticket list with
filters (bearer token). p95 comes from a wrk Lua ``done`` hook. Results: ``bench/results/desk_scale_*.json``
plus EXPLAIN ANALYZE of the slowest SQL each page runs (``bench/results/desk_scale_explain_*.txt``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "casework_bench"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
SQLITE_HOME = ROOT / "var" / "bench"
SQLITE_PATH = SQLITE_HOME / "desk_bench.sqlite3"
BENCH_PASSWORD = "bench-pass"
OPEN_DAYS = 14
N_ORGS = 500
BUSY_LINES = {"compute": 4, "network": 4, "storage": 3, "database": 3, "container": 2, "cdn": 2, "security": 1,
              "middleware": 1, "fallback": 1}
ENGINEERS_PER_LINE = {"t0": 6, "l1": 3, "l2": 2}
# Where the running clocks stand: due between 5 % of the target ago and 115 % of it from now, uniformly — a desk
# that mostly keeps its SLA: ~4 % overdue, ~22 % in their last quarter, the rest comfortably running.
SLA_DUE_SQL = "(random() * 1.2 - 0.05)"


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# --- fill (runs in a child process whose DATABASE_URL / CASEWORK_HOME point at the bench database) -------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.desk.settings")
    os.environ["CASEWORK_DEBUG"] = "0"
    import django

    django.setup()


def _people() -> dict[str, object]:
    """Organisations, contacts, engineers per line and tier, line leads, the bench users; returns ids."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from casework.desk.access.tokens import issue_token
    from casework.desk.sla.policies import ensure_default_policies
    from casework.desk.team.models import Line, Organisation, Product, Profile, Role
    from casework.desk.team.reference import ensure_reference_data

    User = get_user_model()
    ensure_reference_data()
    ensure_default_policies()
    rng = random.Random(5)
    password = make_password(BENCH_PASSWORD)
    tiers = rng.choices(["basic", "business", "enterprise"], weights=[60, 30, 10], k=N_ORGS)
    Organisation.objects.bulk_create(
        [Organisation(name=f"Bench org {i:04d}", tier=tiers[i], region="cn-hangzhou") for i in range(N_ORGS)]
    )
    orgs = list(Organisation.objects.order_by("id"))
    User.objects.bulk_create([User(username=f"cust{i:04d}", password=password) for i in range(N_ORGS)])
    customers = list(User.objects.filter(username__startswith="cust").order_by("username"))
    Profile.objects.bulk_create(
        [Profile(user=u, role=Role.CUSTOMER, organisation=o) for u, o in zip(customers, orgs, strict=True)]
    )
    lines = list(Line.objects.order_by("id"))
    engineers: dict[tuple[str, str], list[int]] = {}
    for line in lines:
        for role, n in ENGINEERS_PER_LINE.items():
            users = User.objects.bulk_create(
                [User(username=f"{role}_{line.code}_{k}", password=password) for k in range(n)]
            )
            users = list(User.objects.filter(username__in=[u.username for u in users]).order_by("id"))
            profiles = Profile.objects.bulk_create([Profile(user=u, role=role) for u in users])
            for p in profiles:
                p.lines.set([line])
                p.readiness.set(Product.objects.filter(default_line=line))
            engineers[(line.code, role)] = [u.pk for u in users]
        lead = User.objects.create(username=f"lead_{line.code}", password=password)
        Profile.objects.create(user=lead, role=Role.LEAD)
        line.lead = lead
        line.save(update_fields=["lead"])
    bench_t0 = User.objects.create(username="bench_t0", password=password)
    profile = Profile.objects.create(user=bench_t0, role=Role.T0)
    profile.lines.set(Line.objects.filter(code__in=["storage", "network"]))
    bench_lead = User.objects.create(username="bench_lead", password=password)
    Profile.objects.create(user=bench_lead, role=Role.LEAD)
    token = issue_token(user=bench_t0, label="scale bench")
    products = list(Product.objects.select_related("default_line").order_by("id"))
    return {
        "orgs": [o.pk for o in orgs], "contacts": [u.pk for u in customers],
        "products": [p.pk for p in products], "product_lines": [p.default_line_id for p in products],
        "product_weights": [BUSY_LINES.get(p.default_line.code, 1) for p in products],
        "line_ids": [line.pk for line in lines], "engineers": engineers,
        "line_codes": {line.pk: line.code for line in lines}, "token": token,
    }


def _secondary_indexes(cur, table: str) -> list[tuple[str, str]]:
    cur.execute(
        """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           WHERE t.relname = %s AND NOT x.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)""",
        [table],
    )
    return list(cur.fetchall())


def _weighted_expr(weights: list[int], ids: list[int], rnd: str) -> str:
    """SQL picking ids[i] with probability weights[i] / sum, from a uniform random column ``rnd``."""
    expanded = [i for i, w in zip(ids, weights, strict=True) for _ in range(w)]
    return f"(ARRAY{expanded}::bigint[])[1 + floor({rnd} * {len(expanded)})::int]"


def fill_postgres(tickets: int, events_mean: int) -> dict[str, object]:
    from django.db import connection

    people = _people()
    # Per product: its line, and per (line, tier) the engineers: laid out as flat arrays indexed in SQL.
    product_idx = list(range(len(people["products"])))
    weights = people["product_weights"]
    line_of_product = people["product_lines"]
    line_pos = {lid: i for i, lid in enumerate(people["line_ids"])}
    eng = people["engineers"]
    t0 = [eng[(people["line_codes"][lid], "t0")] for lid in people["line_ids"]]
    l1 = [eng[(people["line_codes"][lid], "l1")] for lid in people["line_ids"]]
    l2 = [eng[(people["line_codes"][lid], "l2")] for lid in people["line_ids"]]
    flat_t0 = [u for group in t0 for u in group]
    flat_l1 = [u for group in l1 for u in group]
    flat_l2 = [u for group in l2 for u in group]
    n_t0, n_l1, n_l2 = ENGINEERS_PER_LINE["t0"], ENGINEERS_PER_LINE["l1"], ENGINEERS_PER_LINE["l2"]
    with connection.cursor() as cur:
        saved = {}
        for table in ("desk_ticket", "desk_ticketevent", "desk_message", "desk_ticketsla"):
            saved[table] = _secondary_indexes(cur, table)
            for name, _ddl in saved[table]:
                cur.execute(f'DROP INDEX "{name}"')
        log(f"postgres: inserting {tickets:,} tickets")
        pick = _weighted_expr(weights, product_idx, "r1")
        cur.execute(f"""
            CREATE TEMP TABLE bench_seed AS
            SELECT g, {pick} AS p, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                   now() - ((1 - sqrt(g::float / {tickets})) * interval '365 days') AS created
            FROM (SELECT g, random() AS r1 FROM generate_series(1, {tickets}) g) s
        """)
        cur.execute(f"""
            INSERT INTO desk_ticket (ref, organisation_id, contact_id, product_id, category, severity, subject,
                description, identifiers, language, status, line_id, assignee_id, tier, tags, routed_rule,
                rules_version, escalations, bounces, created_at, updated_at, resolved_at, closed_at)
            SELECT 'B' || lpad(g::text, 9, '0'),
                   (ARRAY{people['orgs']}::bigint[])[1 + floor(r2 * r2 * {N_ORGS})::int],
                   (ARRAY{people['contacts']}::bigint[])[1 + floor(r2 * r2 * {N_ORGS})::int],
                   (ARRAY{people['products']}::bigint[])[p + 1], 'bench',
                   CASE WHEN r3 < .03 THEN 'P1' WHEN r3 < .20 THEN 'P2' WHEN r3 < .75 THEN 'P3' ELSE 'P4' END,
                   'Bench ticket ' || g || ': PutObject 403 after policy change',
                   'Since 10:00 uploads fail with 403 AccessDenied. RequestId 5F1A-' || g,
                   '{{"instance_ids": ["i-bench"]}}'::jsonb, CASE WHEN r5 < .4 THEN 'zh' ELSE 'en' END,
                   status, (ARRAY{line_of_product}::bigint[])[p + 1],
                   CASE WHEN status IN ('new', 'escalated') THEN NULL
                        WHEN tier = 'T0' THEN (ARRAY{flat_t0}::bigint[])[1 + lp * {n_t0} + (g % {n_t0})]
                        WHEN tier = 'L1' THEN (ARRAY{flat_l1}::bigint[])[1 + lp * {n_l1} + (g % {n_l1})]
                        ELSE (ARRAY{flat_l2}::bigint[])[1 + lp * {n_l2} + (g % {n_l2})] END,
                   tier, '[]'::jsonb, 'bench', 1, (tier <> 'T0')::int, (r5 < .05)::int,
                   created, created + interval '3 hours',
                   CASE WHEN status IN ('resolved', 'closed') THEN created + interval '2 days' END,
                   CASE WHEN status = 'closed' THEN created + interval '5 days' END
            FROM (
              SELECT s.*, (ARRAY{[line_pos[line_of_product[i]] for i in product_idx]}::int[])[p + 1] AS lp,
                CASE WHEN created > now() - interval '{OPEN_DAYS} days' THEN
                       CASE WHEN r4 < .12 THEN 'new' WHEN r4 < .30 THEN 'assigned' WHEN r4 < .65 THEN 'in_progress'
                            WHEN r4 < .87 THEN 'pending_customer' ELSE 'escalated' END
                     WHEN r4 < .10 THEN 'resolved' ELSE 'closed' END AS status,
                CASE WHEN r4 >= .87 AND created > now() - interval '{OPEN_DAYS} days' THEN 'L1'
                     WHEN r5 < .15 THEN 'L1' WHEN r5 < .18 THEN 'L2' ELSE 'T0' END AS tier
              FROM bench_seed s
            ) x
            ORDER BY g
        """)
        log(f"postgres: inserting ~{tickets * events_mean:,} events")
        kinds = ["created", "routed", "assigned", "status_changed", "replied", "customer_replied", "noted",
                 "replied", "status_changed", "customer_replied", "replied", "noted", "status_changed", "replied"]
        spread = events_mean - 6  # 6 + (id % (2*spread+1)) has mean 6 + spread
        cur.execute(f"""
            INSERT INTO desk_ticketevent (ticket_id, kind, actor_id, line_id, tier, engineer_id, data, created_at)
            SELECT t.id, (ARRAY{kinds})[s], t.assignee_id, t.line_id, t.tier, t.assignee_id,
                   CASE WHEN s = 1 THEN jsonb_build_object('severity', t.severity) ELSE '{{}}'::jsonb END,
                   t.created_at + s * interval '23 minutes'
            FROM desk_ticket t, generate_series(1, 6 + (t.id % {2 * spread + 1})::int) s
        """)
        log("postgres: messages and SLA rows")
        cur.execute("""
            INSERT INTO desk_message (ticket_id, author_id, body, internal, created_at)
            SELECT t.id, CASE WHEN s = 1 THEN t.contact_id ELSE t.assignee_id END,
                   CASE WHEN s = 1 THEN 'Here is the request id you asked for.' ELSE 'Checked the bucket policy.' END,
                   false, t.created_at + s * interval '31 minutes'
            FROM desk_ticket t, generate_series(1, 2) s
        """)
        cur.execute("SELECT id FROM desk_slapolicy ORDER BY position LIMIT 1 OFFSET 1")
        policy_id = cur.fetchone()[0]
        cur.execute(f"""
            INSERT INTO desk_ticketsla (ticket_id, policy_id, state, due_at, warn_at, check_at, paused, breached,
                                        updated_at)
            SELECT id, {policy_id}, '{{}}'::jsonb, due, due - target / 4,
                   CASE WHEN due IS NOT NULL AND NOT breached THEN due END, status = 'pending_customer', breached,
                   updated_at
            FROM (SELECT id, status, updated_at, target, (id % 13 = 0) AS breached,
                         CASE WHEN status IN ('new', 'assigned', 'in_progress', 'escalated')
                              THEN now() + target * {SLA_DUE_SQL} END AS due
                  FROM (SELECT *, (CASE severity WHEN 'P1' THEN 8 WHEN 'P2' THEN 16 WHEN 'P3' THEN 45 ELSE 90 END)
                                  * interval '1 hour' AS target FROM desk_ticket) tt) t
        """)
        for defs in saved.values():
            for name, ddl in defs:
                log(f"postgres: rebuilding index {name}")
                cur.execute(ddl)
        cur.execute("ANALYZE")
        cur.execute("SELECT (SELECT count(*) FROM desk_ticket), (SELECT count(*) FROM desk_ticketevent), "
                    "(SELECT count(*) FROM desk_ticket WHERE status IN "
                    "('new','assigned','in_progress','pending_customer','escalated'))")
        n_tickets, n_events, n_open = cur.fetchone()
    return {"tickets": n_tickets, "events": n_events, "open": n_open, "token": people["token"]}


def fill_sqlite(tickets: int, events_mean: int) -> dict[str, object]:
    from django.db import connection, transaction

    people = _people()
    rng = random.Random(9)
    now = datetime.now(UTC)
    line_of_product = people["product_lines"]
    line_code = people["line_codes"]
    eng = people["engineers"]
    kinds = ["created", "routed", "assigned", "status_changed", "replied", "customer_replied", "noted",
             "replied", "status_changed", "customer_replied", "replied", "noted", "status_changed", "replied"]
    spread = events_mean - 6
    open_statuses = ["new", "assigned", "in_progress", "pending_customer", "escalated"]
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM desk_slapolicy ORDER BY position LIMIT 1 OFFSET 1")
        policy_id = cur.fetchone()[0]
    log(f"sqlite: inserting {tickets:,} tickets")
    rows, event_rows, message_rows, sla_rows = [], [], [], []
    for g in range(1, tickets + 1):
        created = now - (1 - (g / tickets) ** 0.5) * timedelta(days=365)
        p = rng.choices(range(len(people["products"])), weights=people["product_weights"])[0]
        o = int(rng.random() ** 2 * N_ORGS)
        r3, r4, r5 = rng.random(), rng.random(), rng.random()
        severity = "P1" if r3 < .03 else "P2" if r3 < .20 else "P3" if r3 < .75 else "P4"
        recent = created > now - timedelta(days=OPEN_DAYS)
        if recent:
            status = rng.choices(open_statuses, weights=[12, 18, 35, 22, 13])[0]
        else:
            status = "resolved" if r4 < .1 else "closed"
        tier = "L1" if status == "escalated" or r5 < .15 else "L2" if r5 < .18 else "T0"
        line_id = line_of_product[p]
        assignee = None
        if status not in ("new", "escalated"):
            assignee = rng.choice(eng[(line_code[line_id], tier.lower())])
        resolved = created + timedelta(days=2) if status in ("resolved", "closed") else None
        closed = created + timedelta(days=5) if status == "closed" else None
        rows.append((f"B{g:09d}", people["orgs"][o], people["contacts"][o], people["products"][p], "bench", severity,
                     f"Bench ticket {g}: PutObject 403 after policy change",
                     f"Since 10:00 uploads fail with 403 AccessDenied. RequestId 5F1A-{g}", '{"instance_ids": ["i-bench"]}',
                     "zh" if r5 < .4 else "en", status, line_id, assignee, tier, "[]", "bench", 1, int(tier != "T0"),
                     int(r5 < .05), created, created + timedelta(hours=3), resolved, closed))
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(
            """INSERT INTO desk_ticket (ref, organisation_id, contact_id, product_id, category, severity, subject,
               description, identifiers, language, status, line_id, assignee_id, tier, tags, routed_rule,
               rules_version, escalations, bounces, created_at, updated_at, resolved_at, closed_at)
               VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)""", rows)
        cur.execute("SELECT id, line_id, tier, assignee_id, contact_id, status, severity, created_at, updated_at "
                    "FROM desk_ticket")
        tickets_rows = cur.fetchall()
    log(f"sqlite: inserting ~{tickets * events_mean:,} events, messages, SLA rows")
    hours = {"P1": 8, "P2": 16, "P3": 45, "P4": 90}
    for tid, line_id, tier, assignee, contact, status, severity, created, updated in tickets_rows:
        created = created if isinstance(created, datetime) else datetime.fromisoformat(created)
        for s in range(1, 6 + tid % (2 * spread + 1) + 1):
            data = json.dumps({"severity": severity}) if s == 1 else "{}"
            event_rows.append((tid, kinds[s - 1], assignee, line_id, tier, assignee, data,
                               created + s * timedelta(minutes=23)))
        for s in (1, 2):
            message_rows.append((tid, contact if s == 1 else assignee,
                                 "Here is the request id you asked for." if s == 1 else "Checked the bucket policy.",
                                 False, created + s * timedelta(minutes=31)))
        target = timedelta(hours=hours[severity])
        running = status in ("new", "assigned", "in_progress", "escalated")
        due = now + target * (rng.random() * 1.2 - 0.05) if running else None
        breached = tid % 13 == 0
        sla_rows.append((tid, policy_id, "{}", due, due - target / 4 if due else None,
                         due if due and not breached else None, status == "pending_customer", breached, updated))
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany("INSERT INTO desk_ticketevent (ticket_id, kind, actor_id, line_id, tier, engineer_id, data, "
                        "created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)", event_rows)
        cur.executemany("INSERT INTO desk_message (ticket_id, author_id, body, internal, created_at) "
                        "VALUES (%s,%s,%s,%s,%s)", message_rows)
        cur.executemany("INSERT INTO desk_ticketsla (ticket_id, policy_id, state, due_at, warn_at, check_at, paused, "
                        "breached, updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)", sla_rows)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        cur.execute("SELECT (SELECT count(*) FROM desk_ticket), (SELECT count(*) FROM desk_ticketevent), "
                    "(SELECT count(*) FROM desk_ticket WHERE status IN "
                    "('new','assigned','in_progress','pending_customer','escalated'))")
        n_tickets, n_events, n_open = cur.fetchone()
    return {"tickets": n_tickets, "events": n_events, "open": n_open, "token": people["token"]}


def phase_fill(backend: str, tickets: int, events_mean: int) -> None:
    from django.core.management import call_command

    _django()
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    counts = fill_postgres(tickets, events_mean) if backend == "postgres" else fill_sqlite(tickets, events_mean)
    counts["fill_seconds"] = round(time.monotonic() - started, 1)
    # The bench user's API token stays out of the committed results (var/ is not tracked).
    SQLITE_HOME.mkdir(parents=True, exist_ok=True)
    (SQLITE_HOME / f"token_{backend}").write_text(counts.pop("token"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"desk_scale_fill_{backend}.json").write_text(json.dumps(counts, indent=2))
    log(f"{backend}: filled {counts}")


# --- measure ------------------------------------------------------------------------------------------------


def _env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "casework.desk.settings"
    env["CASEWORK_DEBUG"] = "0"
    if backend == "postgres":
        env["DATABASE_URL"] = PG_URL
    else:
        env.pop("DATABASE_URL", None)
        env["DATABASE_URL"] = f"sqlite:///{SQLITE_PATH}"
    env["CASEWORK_HOME"] = str(SQLITE_HOME)
    return env


def _session_cookie(username: str) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # as a login through the form does
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    # And the CSRF cookie a browser sends back after its first page (without it every page makes a new secret and
    # sets the cookie again, which no real client causes).
    from django.middleware.csrf import _get_new_csrf_string

    return f"sessionid={session.session_key}; {settings.CSRF_COOKIE_NAME}={_get_new_csrf_string()}"


def _targets(token: str) -> list[dict[str, object]]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT t.ref FROM desk_ticket t JOIN desk_line l ON l.id = t.line_id WHERE l.code IN "
                    "('storage', 'network') AND t.status IN ('assigned', 'in_progress', 'pending_customer') "
                    "ORDER BY t.id DESC LIMIT 2000")
        refs = [r[0] for r in cur.fetchall()]
    cookie = _session_cookie("bench_t0")
    return [
        {"name": "engineer queue page", "paths": ["/queue/?tab=lines"], "headers": {"Cookie": cookie}},
        {"name": "queue: about to breach", "paths": ["/queue/?tab=breach"], "headers": {"Cookie": cookie}},
        {"name": "ticket page", "paths": [f"/t/{r}/" for r in refs], "headers": {"Cookie": cookie}},
        {"name": "API ticket list with filters",
         "paths": ["/api/v1/tickets?status=in_progress&line=storage&severity=P2",
                   "/api/v1/tickets?status=pending_customer&line=network",
                   "/api/v1/tickets?line=storage&severity=P1&limit=50"],
         "headers": {"Authorization": f"Bearer {token}"}},
        {"name": "API ticket SLA", "paths": [f"/api/v1/tickets/{r}/sla" for r in refs[:500]],
         "headers": {"Authorization": f"Bearer {token}"}},
    ]


LUA = r"""
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
%(headers)s
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
-- Each wrk thread has its own Lua state: count non-200 answers per thread and collect them in done().
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
non200 = 0
first_bad = ""
%(response)s
done = function(summary, latency, requests)
  local bad, sample = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("non200")
    if sample == "" then sample = t:get("first_bad") end
  end
  io.write(string.format("NON200 %%d %%s\n", bad, sample))
  local e = summary.errors
  io.write(string.format("RESULT {\"requests\": %%d, \"seconds\": %%.3f, \"p50_ms\": %%.2f, \"p95_ms\": %%.2f, " ..
    "\"p99_ms\": %%.2f, \"max_ms\": %%.2f, \"errors\": {\"connect\": %%d, \"read\": %%d, \"write\": %%d, " ..
    "\"status\": %%d, \"timeout\": %%d}}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


# Counting every non-200 answer in Lua makes wrk hand each response body to Lua: with pages of 30-50 KB that cost
# wrk about as much CPU as the desk spent answering (on the same 2 cores). Off by default (``--status-hook``):
# wrk itself counts answers >= 400 (``errors.status``), and each URL must answer 200 — not a redirect to the login
# page — once before and once after its measurement (``_check``), so a session lost mid-run would still show.
STATUS_HOOK = """response = function(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then first_bad = tostring(status) .. " " .. (headers["Location"] or "") end
  end
end"""


def _wrk(base: str, target: dict[str, object], *, duration: int, connections: int, threads: int,
         status_hook: bool = False) -> dict[str, object]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        paths = Path(tmp) / "paths.txt"
        paths.write_text("\n".join(target["paths"]) + "\n")
        headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in target["headers"].items())
        script = Path(tmp) / "bench.lua"
        script.write_text(LUA % {"paths": paths, "headers": headers, "response": STATUS_HOOK if status_hook else ""})
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([wrk, "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
                              "-s", str(script), base], capture_output=True, text=True, check=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    non200 = next(ln for ln in out.splitlines() if ln.startswith("NON200 ")).split(" ", 2)
    result["non_200"] = int(non200[1]) if status_hook else None
    result["first_non_200"] = non200[2].strip() if status_hook and len(non200) > 2 else ""
    result["rps"] = round(result["requests"] / result["seconds"], 1)
    result["wrk_cpu_ms_per_request"] = round(wrk_cpu * 1000 / max(result["requests"], 1), 2)
    return result


def _wait_port(host: str, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not listen on {host}:{port}")


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _db_backends(backend: str) -> list[int]:
    if backend != "postgres":
        return []
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [PG_BENCH_DB])
        return [r[0] for r in cur.fetchall()]


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime per process (CPU it used, whatever else the shared machine was doing)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    # Processes that appeared meanwhile (a new database connection) count in full; ones that ended (a
    # connection past CONN_MAX_AGE, a parallel query worker) are lost: the figure is a lower bound.
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


def _free_port() -> int:
    # Other services (and other people's dev servers) share this machine: never assume a port is ours.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _check(base: str, target: dict[str, object]) -> None:
    """One request with the target's credentials must answer 200, or the whole measurement is meaningless."""
    import urllib.request

    request = urllib.request.Request(base + target["paths"][0], headers=target["headers"])
    with urllib.request.urlopen(request, timeout=30) as answer:  # redirects to /login/ would end on 200 too:
        if answer.status != 200 or answer.geturl() != base + target["paths"][0]:
            raise SystemExit(f"{target['name']}: {answer.status} {answer.geturl()}")


def phase_measure(backend: str, *, duration: int, connections: int, workers: int, threads: int, port: int,
                  only: str = "", status_hook: bool = False) -> None:
    _django()
    port = port or _free_port()
    fill = json.loads((RESULTS / f"desk_scale_fill_{backend}.json").read_text())
    targets = _targets((SQLITE_HOME / f"token_{backend}").read_text().strip())
    targets = [t for t in targets if only.lower() in str(t["name"]).lower()]
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    # What `casework desk serve` runs (--workers/--threads, same defaults), without its access log and its
    # in-process SLA breach check: this measures request handling only.
    server = subprocess.Popen(
        [gunicorn, "casework.desk.wsgi:application", "--workers", str(workers), "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "256"],
        env=_env(backend), cwd=str(ROOT), start_new_session=True,
    )
    results = []
    load_before = round(os.getloadavg()[0], 2)
    try:
        _wait_port("127.0.0.1", port)
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}); is port {port} taken?")
        base = f"http://127.0.0.1:{port}"
        for target in targets:
            _check(base, target)
            _wrk(base, target, duration=3, connections=connections, threads=2)  # warm-up: imports, caches
            # CPU per request (gunicorn workers + their PostgreSQL backends) is the load-independent figure:
            # latency on a machine shared with other jobs says as much about them as about the desk.
            cpu_before = _cpu_seconds(_children(server.pid) + _db_backends(backend))
            result = _wrk(base, target, duration=duration, connections=connections, threads=2,
                          status_hook=status_hook)
            cpu_after = _cpu_seconds(_children(server.pid) + _db_backends(backend))
            _check(base, target)  # still 200 (not a redirect to the login page) after the run
            result["cpu_ms_per_request"] = round(_cpu_used(cpu_before, cpu_after) * 1000 / max(result["requests"], 1), 2)
            result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy
            result["name"] = target["name"]
            result["example"] = target["paths"][0]
            log(f"{backend}: {target['name']}: p95 {result['p95_ms']} ms, {result['rps']} req/s, "
                f"errors {result['errors']}")
            results.append(result)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    out = {"backend": backend, "fill": fill, "connections": connections, "status_hook": status_hook,
           "duration_s": duration, "gunicorn_workers": workers, "gunicorn_threads": threads, "cpus": os.cpu_count(),
           "results": results,
           "loadavg_1m_before": load_before,
           "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (RESULTS / f"desk_scale_{backend}.json").write_text(json.dumps(out, indent=2))
    explain(backend, targets)


def explain(backend: str, targets: list[dict[str, object]]) -> None:
    """Run each page once in-process, capture its SQL, EXPLAIN ANALYZE the three slowest statements."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    lines = []
    for target in targets:
        headers = {}
        for key, value in target["headers"].items():
            if key == "Cookie":
                for pair in value.split("; "):
                    name, _, cookie = pair.partition("=")
                    client.cookies[name] = cookie
            else:
                headers["HTTP_" + key.upper().replace("-", "_")] = value
        with CaptureQueriesContext(connection) as captured:
            response = client.get(target["paths"][0], **headers)
        assert response.status_code == 200, (target["paths"][0], response.status_code)
        timed = sorted(captured.captured_queries, key=lambda q: float(q["time"]), reverse=True)[:3]
        lines.append(f"### {target['name']} — {target['paths'][0]} ({len(captured.captured_queries)} queries)\n")
        for q in timed:
            sql = q["sql"]
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if backend == "postgres" else "EXPLAIN QUERY PLAN "
            with connection.cursor() as cur:
                cur.execute(prefix + sql)
                plan = "\n".join(" | ".join(str(c) for c in row) for row in cur.fetchall())
            lines.append(f"-- {float(q['time']) * 1000:.1f} ms in the page\n{sql}\n{plan}\n")
    (RESULTS / f"desk_scale_explain_{backend}.txt").write_text("\n".join(lines))


# --- driver -------------------------------------------------------------------------------------------------


def _create_pg_db(refill: bool) -> bool:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_BENCH_DB]).fetchone()
        if exists and not refill:
            return False
        if exists:
            conn.execute(f"DROP DATABASE {PG_BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--pg-tickets", type=int, default=1_000_000)
    parser.add_argument("--sqlite-tickets", type=int, default=100_000)
    parser.add_argument("--events-per-ticket", type=int, default=10)
    parser.add_argument("--duration", type=int, default=20, help="seconds per URL")
    parser.add_argument("--connections", type=int, default=16)
    # What `casework desk serve` runs by default: sync workers, CPU cores + 1. Once requests became short and
    # CPU-bound, 3 sync workers on this 2-core machine had about half the p95 of 2 workers × 4 threads (which had
    # been best while requests waited longer on the database): threads of one process contend for the interpreter.
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (> 1: gthread)")
    parser.add_argument("--only", default="", help="measure only the URLs whose name contains this")
    parser.add_argument("--status-hook", action="store_true",
                        help="count every non-200 answer in wrk's Lua (costs wrk a lot of CPU on large pages)")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--skip-fill", action="store_true", help="measure the existing bench database")
    parser.add_argument("--refill", action="store_true", help="drop and refill the bench database")
    parser.add_argument("--fill-only", action="store_true", help="fill, do not measure")
    parser.add_argument("--phase", choices=["fill", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # child process: the environment already points at the bench database
        if args.phase == "fill":
            tickets = args.pg_tickets if args.backend == "postgres" else args.sqlite_tickets
            phase_fill(args.backend, tickets, args.events_per_ticket)
        else:
            phase_measure(args.backend, duration=args.duration, connections=args.connections, workers=args.workers,
                          threads=args.threads, port=args.port, only=args.only, status_hook=args.status_hook)
        return

    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    for backend in backends:
        env = _env(backend)
        SQLITE_HOME.mkdir(parents=True, exist_ok=True)
        if not args.skip_fill:
            fresh = True
            if backend == "postgres":
                fresh = _create_pg_db(args.refill)
            elif SQLITE_PATH.exists():
                if args.refill:
                    SQLITE_PATH.unlink()
                else:
                    fresh = False
            if fresh:
                subprocess.run([sys.executable, __file__, "--phase", "fill", "--backend", backend,
                                "--pg-tickets", str(args.pg_tickets), "--sqlite-tickets", str(args.sqlite_tickets),
                                "--events-per-ticket", str(args.events_per_ticket)], env=env, check=True)
            else:
                log(f"{backend}: bench database exists; measuring it (use --refill to rebuild)")
        if args.fill_only:
            continue
        subprocess.run([sys.executable, __file__, "--phase", "measure", "--backend", backend, "--duration",
                        str(args.duration), "--connections", str(args.connections), "--workers", str(args.workers),
                        "--threads", str(args.threads), "--only", args.only, "--port", str(args.port)]
                       + (["--status-hook"] if args.status_hook else []),
                       env=env, check=True)
    for backend in [] if args.fill_only else backends:
        data = json.loads((RESULTS / f"desk_scale_{backend}.json").read_text())
        print(f"\n{backend}: {data['fill']['tickets']:,} tickets, {data['fill']['events']:,} events, "
              f"{data['connections']} connections, {data['gunicorn_workers']} gunicorn workers × "
              f"{data.get('gunicorn_threads', 1)} threads")
        print("| URL | requests | req/s | p50 ms | p95 ms | p99 ms | errors (incl. status ≥ 400) | non-200 | "
              "CPU ms/request (desk + DB) | wrk CPU ms/request | load (1 min) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in data["results"]:
            errors = sum(r["errors"].values())
            non200 = r["non_200"] if r.get("non_200") is not None else "200 before and after"
            print(f"| {r['name']} (`{r['example']}`) | {r['requests']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} "
                  f"| {r['p99_ms']} | {errors} | {non200} | {r.get('cpu_ms_per_request', '')} "
                  f"| {r.get('wrk_cpu_ms_per_request', '')} | {r.get('loadavg_1m_after', '')} |")


if __name__ == "__main__":
    main()
