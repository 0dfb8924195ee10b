"""A realistic demo desk: the seed's lines, 25 engineers on shifts, 12 organisations, tickets with full history.

Every ticket goes through the real services with historic timestamps (``at=``), so the event log, the queues and
the reports on the demo are exactly what the desk would have produced — nothing is written around the services.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from casework.desk import demo_content as content
from casework.desk.errors import DeskError
from casework.desk.routing.models import RuleSet
from casework.desk.sla import ratings
from casework.desk.team.models import Line, Organisation, Product, Profile, Role, Shift
from casework.desk.team.reference import ensure_reference_data
from casework.desk.tickets import services
from casework.desk.tickets.models import Status, Ticket

User = get_user_model()
DEMO_PASSWORD = "demo"


@dataclass(frozen=True)
class DemoSpec:
    tickets: int = 2000
    weeks: int = 10
    seed: int = 7


# username, display name, role, lines, shift kind, capacity. Shift kinds: "day" 09-18 Shanghai, "late" 15-24
# Shanghai, "night" 00-09 Shanghai (a night shift staffed from Europe), "all" (leads, L2 on call), weekdays only
# except where noted in _shift_rows.
ENGINEERS: list[tuple[str, str, str, list[str], str, int]] = [
    ("admin", "Admin", Role.ADMIN, [], "all", 0),
    ("lead", "张琦 (lead)", Role.LEAD, ["compute", "network", "storage", "database", "container", "cdn", "security",
                                        "middleware", "fallback"], "all", 0),
    ("lead.jiaqi", "佳琪 (lead)", Role.LEAD, ["compute", "container", "fallback"], "all", 0),
    ("t0.li", "Li Wei", Role.T0, ["compute", "fallback"], "day", 8),
    ("t0.ren", "任洋洋", Role.T0, ["compute", "fallback"], "day", 6),
    ("t0.wang", "王福坤", Role.T0, ["compute", "storage"], "late", 8),
    ("t0.zhou", "Zhou Min", Role.T0, ["network", "cdn"], "day", 8),
    ("t0.rui", "任锐", Role.T0, ["network", "security"], "late", 6),
    ("t0.sun", "Sun Yue", Role.T0, ["storage", "middleware"], "day", 8),
    ("t0.zhao", "Zhao Lei", Role.T0, ["database", "fallback"], "day", 8),
    ("t0.hu", "Hu Jing", Role.T0, ["database", "middleware"], "late", 8),
    ("t0.guo", "Guo Tao", Role.T0, ["container", "compute"], "day", 6),
    ("t0.emma", "Emma Byrne", Role.T0, ["compute", "network", "fallback"], "night", 8),
    ("t0.liam", "Liam Walsh", Role.T0, ["database", "storage", "cdn"], "night", 8),
    ("t0.ma", "Ma Lin", Role.T0, ["cdn", "security", "fallback"], "day", 8),
    ("l1.chen", "Chen Yaqing", Role.L1, ["compute", "fallback"], "day", 10),
    ("l1.jiushan", "九善", Role.L1, ["network", "fallback"], "day", 10),
    ("l1.zehang", "泽航", Role.L1, ["storage", "middleware", "fallback"], "day", 10),
    ("l1.xu", "Xu Fang", Role.L1, ["database", "fallback"], "late", 10),
    ("l1.lin", "Lin Hao", Role.L1, ["container", "fallback"], "day", 10),
    ("l1.sara", "Sara Klein", Role.L1, ["cdn", "security", "fallback"], "night", 10),
    ("l1.he", "He Jun", Role.L1, ["network", "cdn", "fallback"], "late", 10),
    ("l2.wang", "Wang Qiang", Role.L2, ["compute", "network", "storage", "fallback"], "all", 12),
    ("l2.liu", "Liu Yang", Role.L2, ["database", "container", "middleware", "fallback"], "all", 12),
    ("l2.ola", "Ola Nordmann", Role.L2, ["cdn", "security", "fallback"], "all", 12),
]

SHIFT_HOURS = {"day": (time(9), time(18)), "late": (time(15), time(23, 59)), "night": (time(0), time(9)),
               "all": (time(0), time(23, 59))}

DEMO_RULES = [
    {"name": "ddos-blackhole", "when": {"keywords": ["黑洞", "blackhole", "blackholed", "高防"]},
     "then": {"line": "security", "tags": ["ddos"]}},
    {"name": "security-products", "when": {"products": ["ddos", "waf", "ram"]}, "then": {"line": "security"}},
    {"name": "cdn", "when": {"products": ["cdn", "dcdn"]}, "then": {"line": "cdn"}},
    {"name": "health-check", "when": {"products": ["slb", "ack"], "regex": "health ?check|健康检查"},
     "then": {"line": "network", "tags": ["health-check"]}},
    {"name": "compute", "when": {"products": ["ecs", "ess"]}, "then": {"line": "compute"}},
    {"name": "network", "when": {"products": ["slb", "vpc", "vpn", "cen", "expressconnect", "eip"]},
     "then": {"line": "network"}},
    {"name": "storage", "when": {"products": ["oss", "nas"]}, "then": {"line": "storage"}},
    {"name": "database", "when": {"products": ["rds-mysql", "rds-postgresql", "mongodb", "redis"]},
     "then": {"line": "database"}},
    {"name": "container", "when": {"products": ["ack", "acr"]}, "then": {"line": "container"}},
    {"name": "middleware", "when": {"products": ["sls", "mq", "directmail"]}, "then": {"line": "middleware"}},
    {"name": "p1-enterprise", "when": {"org_tiers": ["enterprise"], "severities": ["P1"]},
     "then": {"line": "compute", "tags": ["vip"]}},
]


def _customer_username(org_index: int, n: int) -> str:
    return f"customer{org_index + 1}" if n == 0 else f"customer{org_index + 1}.{n}"


def _make_people(rng: random.Random) -> tuple[dict[str, object], list[tuple[Organisation, list[object]]]]:
    lines = {line.code: line for line in Line.objects.all()}
    products_by_line: dict[str, list[Product]] = {}
    for product in Product.objects.select_related("default_line"):
        products_by_line.setdefault(product.default_line.code, []).append(product)
    staff: dict[str, object] = {}
    # One hash for everyone: PBKDF2 is deliberately slow, and 49 demo users would otherwise take ~15 s.
    password = make_password(DEMO_PASSWORD)
    for username, name, role, line_codes, shift, capacity in ENGINEERS:
        user = User.objects.create(username=username, password=password, email=f"{username}@casework.test")
        if role == Role.ADMIN:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        profile = Profile.objects.create(user=user, role=role, display_name=name, capacity=capacity or 8,
                                         language="zh" if any("\u4e00" <= c <= "\u9fff" for c in name) else "en",
                                         timezone="Asia/Shanghai")
        profile.lines.set([lines[c] for c in line_codes])
        ready = [p for c in line_codes for p in products_by_line.get(c, [])]
        # Newcomers (the seed's 任洋洋 joined this week) are ready for only part of their lines' products.
        if username in ("t0.ren", "t0.rui"):
            ready = ready[: max(1, len(ready) // 2)]
        profile.readiness.set(ready)
        start, end = SHIFT_HOURS[shift]
        days = range(7) if shift in ("all", "night") else range(5)
        Shift.objects.bulk_create(
            [Shift(engineer=user, weekday=d, start=start, end=end, timezone="Asia/Shanghai") for d in days]
        )
        staff[username] = user
    # Mentors: every T0 has an L1 of one of its lines.
    l1s = [u for u in staff.values() if u.profile.role == Role.L1]
    for user in staff.values():
        if user.profile.role == Role.T0:
            mine = set(user.profile.lines.values_list("code", flat=True))
            mentor = next((m for m in l1s if mine & set(m.profile.lines.values_list("code", flat=True))), l1s[0])
            Profile.objects.filter(user=user).update(mentor=mentor)
    orgs = []
    for i, (name, tier, region, language) in enumerate(content.ORGANISATIONS):
        org = Organisation.objects.create(name=name, tier=tier, region=region, language=language)
        contacts = []
        for n in range(2):
            username = _customer_username(i, n)
            user = User.objects.create(username=username, password=password, email=f"{username}@customer.test")
            Profile.objects.create(user=user, role=Role.CUSTOMER, organisation=org, language=language,
                                   display_name=f"{name} #{n + 1}")
            contacts.append(user)
        orgs.append((org, contacts))
    return staff, orgs


def _random_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """Mostly Shanghai business hours on weekdays, like real ticket intake."""
    span = (end - start).total_seconds()
    for _ in range(20):
        at = start + timedelta(seconds=rng.random() * span)
        local_hour = (at.hour + 8) % 24
        weekday = (at + timedelta(hours=8)).weekday()
        weight = (1.0 if 9 <= local_hour < 19 else 0.25) * (1.0 if weekday < 5 else 0.35)
        if rng.random() < weight:
            return at
    return at


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        iid=rng.choice(["i-", "dds-", "rm-", "lb-", "c-", "vbr-", "r-"]) + "".join(rng.choices("0123456789abcdef", k=12)),
        rid="".join(rng.choices("0123456789ABCDEF", k=8)) + "-" + "".join(rng.choices("0123456789ABCDEF", k=4)),
        domain=rng.choice(["cdn.emarineonline.com.cn", "static.acme-retail.eu", "img.xingyun.cn", "api.globex.io"]),
        ip=f"170.33.{rng.randint(1, 250)}.{rng.randint(1, 250)}",
    )


def _any_engineer(staff: dict[str, object], tier: str, line_code: str, rng: random.Random):
    role = {"T0": Role.T0, "L1": Role.L1, "L2": Role.L2}[tier]
    pool = [u for u in staff.values() if u.profile.role == role and line_code in u._demo_lines]
    if not pool:
        pool = [u for u in staff.values() if u.profile.role == role]
    return rng.choice(pool)


def _life(ticket: Ticket, *, staff: dict[str, object], contact: object, rng: random.Random, now: datetime) -> None:
    """Play one ticket's life forward from its creation, stopping at ``now``."""
    at = ticket.created_at

    def step(minutes_lo: float, minutes_hi: float) -> datetime | None:
        nonlocal at
        at = at + timedelta(minutes=rng.uniform(minutes_lo, minutes_hi))
        return at if at < now else None

    line_code = ticket.line.code
    if ticket.assignee_id is None:
        if step(5, 240) is None:
            return
        engineer = _any_engineer(staff, ticket.tier, line_code, rng)
        try:
            services.claim(ticket=ticket, engineer=engineer, at=at)
        except DeskError:
            return
    ticket.refresh_from_db()
    replies = content.REPLIES_ZH if ticket.language == "zh" else content.REPLIES_EN
    if step(10, 180) is None:
        return
    services.reply(ticket=ticket, actor=ticket.assignee, body=rng.choice(replies), pending_customer=rng.random() < 0.5,
                   at=at)
    ticket.refresh_from_db()
    if ticket.status == Status.PENDING_CUSTOMER:
        if step(30, 1440) is None:
            return
        services.reply(ticket=ticket, actor=contact, body=rng.choice(content.CUSTOMER_REPLIES), at=at)
        ticket.refresh_from_db()
    if rng.random() < 0.04 and step(20, 300) is not None:
        other = Line.objects.exclude(pk=ticket.line_id).exclude(is_fallback=True).order_by("?").first()
        services.reassign_line(ticket=ticket, actor=ticket.assignee or staff["lead"], line=other,
                               reason=rng.choice(content.REASSIGN_REASONS), at=at)
        ticket.refresh_from_db()
        line_code = ticket.line.code
        if ticket.assignee_id is None:
            if step(5, 120) is None:
                return
            services.claim(ticket=ticket, engineer=_any_engineer(staff, ticket.tier, line_code, rng), at=at)
            ticket.refresh_from_db()
    # Escalations: about a quarter of tickets go to L1 (the seed's container line escalates the most).
    escalate_p = 0.45 if line_code == "container" else 0.25
    while ticket.tier != "L2" and rng.random() < (escalate_p if ticket.tier == "T0" else 0.2):
        if step(30, 600) is None:
            return
        summary = services.SummaryInput(
            problem=content.ESCALATION_SUMMARY["problem"].format(subject=ticket.subject[:80]),
            checked=content.ESCALATION_SUMMARY["checked"],
            findings=content.ESCALATION_SUMMARY["findings"],
            identifiers=", ".join(str(v) for vs in ticket.identifiers.values() for v in (vs if isinstance(vs, list) else [vs]))
            or ticket.ref,
            time_window=(ticket.created_at - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M") + " → now (UTC)",
            impact=content.ESCALATION_SUMMARY["impact"],
        )
        actor = ticket.assignee or _any_engineer(staff, ticket.tier, line_code, rng)
        services.escalate(ticket=ticket, actor=actor, summary=summary, at=at)
        ticket.refresh_from_db()
        if ticket.assignee_id is None:
            if step(10, 300) is None:
                return
            services.claim(ticket=ticket, engineer=_any_engineer(staff, ticket.tier, line_code, rng), at=at)
            ticket.refresh_from_db()
        # The seed's complaint: L1s bounce escalated tickets back down. Always with a reason now.
        if rng.random() < 0.15:
            if step(20, 240) is None:
                return
            services.return_down(ticket=ticket, actor=ticket.assignee, reason=rng.choice(content.BOUNCE_REASONS), at=at)
            ticket.refresh_from_db()
            if ticket.assignee_id is None:
                if step(10, 200) is None:
                    return
                services.claim(ticket=ticket, engineer=_any_engineer(staff, ticket.tier, line_code, rng), at=at)
                ticket.refresh_from_db()
            break
    if rng.random() < 0.6:
        if step(10, 300) is None:
            return
        services.add_note(ticket=ticket, actor=ticket.assignee, body="Checked monitoring and logs; see findings.", at=at)
    if step(60, 60 * 24 * 3) is None:
        return
    services.resolve(ticket=ticket, actor=ticket.assignee, note=rng.choice(content.RESOLUTIONS), at=at)
    ticket.refresh_from_db()
    # About a third of customers rate (the seed: "4 closed, 3 rated good"); most are happy, a few are not.
    if rng.random() < 0.35 and step(30, 60 * 24) is not None:
        value = rng.choices(["good", "neutral", "bad"], weights=[78, 14, 8])[0]
        ratings.rate(ticket=ticket, value=value, comment=rng.choice(content.RATING_COMMENTS[value]), actor=contact,
                     via=rng.choice(["portal", "link"]), at=at)
        ticket.refresh_from_db()
    if step(60 * 24, 60 * 24 * 4) is not None:
        services.set_status(ticket=ticket, actor=None, status=Status.CLOSED, reason="auto-close after 72 h", at=at)


def load_demo(spec: DemoSpec, *, progress: bool = False, now: datetime | None = None) -> dict[str, int]:
    # In DEBUG, Django records every query; the demo runs tens of thousands of them, so logging costs ~15 %.
    debug = settings.DEBUG
    settings.DEBUG = False
    try:
        return _load_demo(spec, progress=progress, now=now)
    finally:
        settings.DEBUG = debug


def _load_demo(spec: DemoSpec, *, progress: bool, now: datetime | None) -> dict[str, int]:
    rng = random.Random(spec.seed)
    now = now or timezone.now()
    with transaction.atomic():
        ensure_reference_data()
        if not RuleSet.objects.exists():
            RuleSet.objects.create(version=1, state=RuleSet.State.PUBLISHED, rules=DEMO_RULES,
                                   note="Vertical lines 2.0 (seed: went live on Tuesday)", published_at=now)
            draft = [dict(r) for r in DEMO_RULES]
            draft.insert(0, {"name": "container-health-check", "when": {"products": ["ack"],
                             "keywords": ["502", "health check", "健康检查"]}, "then": {"line": "container"}})
            RuleSet.objects.create(version=2, state=RuleSet.State.DRAFT, rules=draft,
                                   note="Draft: keep ACK ingress 502s in the container line")
        staff, orgs = _make_people(rng)
    for user in staff.values():
        user._demo_lines = set(user.profile.lines.values_list("code", flat=True))
    start = now - timedelta(weeks=spec.weeks)
    times = sorted(_random_time(rng, start, now) for _ in range(spec.tickets))
    weights = [3 if org.tier == "enterprise" else 2 if org.tier == "business" else 1 for org, _ in orgs]
    made = 0
    for i, created in enumerate(times):
        org, contacts = rng.choices(orgs, weights=weights)[0]
        case = rng.choice(content.CASES)
        product, category, language, subject, description = case
        if language != org.language and rng.random() < 0.7:
            case = rng.choice([c for c in content.CASES if c[2] == org.language])
            product, category, language, subject, description = case
        contact = rng.choice(contacts)
        severity = rng.choices(["P1", "P2", "P3", "P4"], weights=[3, 17, 55, 25])[0]
        identifiers = {"instance_ids": [_fill("{iid}", rng)], "request_ids": [_fill("{rid}", rng)] if "{rid}" in description else []}
        # Tickets of the last half day partly wait in the queue (everyone on shift is busy with the morning's),
        # so a fresh demo has work to claim.
        waiting = (now - created) < timedelta(hours=12) and rng.random() < 0.5
        with transaction.atomic():
            ticket = services.create_ticket(
                organisation=org, contact=contact, product=product, subject=subject,
                description=_fill(description, rng), severity=severity, category=category,
                identifiers=identifiers, language=language, at=created, auto_assign=not waiting,
            )
            if not waiting:
                _life(ticket, staff=staff, contact=contact, rng=rng, now=now)
        made += 1
        if progress and i % 100 == 0:
            print(f"\rdemo: {i}/{spec.tickets} tickets", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    from casework.desk.tickets.models import TicketEvent

    return {"tickets": made, "events": TicketEvent.objects.count(), "engineers": len(staff),
            "organisations": len(orgs)}


__all__ = ["DEMO_PASSWORD", "DemoSpec", "load_demo"]
