"""Small desk worlds for tests, built through the real services (never raw rows for tickets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from django.contrib.auth import get_user_model

from casework.desk.routing.models import RuleSet
from casework.desk.team.models import Line, Organisation, Product, Profile, Role, Shift
from casework.desk.team.reference import ensure_reference_data

User = get_user_model()

RULES = [
    {"name": "oss-to-storage", "when": {"products": ["oss"]}, "then": {"line": "storage"}},
    {"name": "health-check", "when": {"products": ["slb"], "regex": r"health ?check|健康检查"},
     "then": {"line": "network", "tags": ["health-check"]}},
    {"name": "mongodb", "when": {"products": ["mongodb"]}, "then": {"line": "database", "severity": "P2"}},
]


def make_user(username: str, role: str, *, lines: list[str] = (), org: Organisation | None = None,
              ready: list[str] | None = None, always_on_shift: bool = True, capacity: int = 8) -> Any:
    user = User.objects.create_user(username=username, password="pw")
    profile = Profile.objects.create(user=user, role=role, organisation=org, capacity=capacity)
    line_objs = list(Line.objects.filter(code__in=lines))
    profile.lines.set(line_objs)
    if ready is None:
        profile.readiness.set(Product.objects.filter(default_line__in=line_objs))
    else:
        profile.readiness.set(Product.objects.filter(code__in=ready))
    if always_on_shift and role in (Role.T0, Role.L1, Role.L2):
        Shift.objects.bulk_create(
            [Shift(engineer=user, weekday=d, start=time(0), end=time(23, 59), timezone="UTC") for d in range(7)]
        )
    return user


@dataclass
class World:
    org_a: Organisation
    org_b: Organisation
    customer_a: Any
    customer_b: Any
    t0_storage: Any
    t0_storage2: Any
    t0_network: Any
    l1_storage: Any
    l2: Any
    lead: Any


def make_world(*, auto_assign_engineers: bool = False) -> World:
    """Two organisations, engineers in the storage and network lines, the RULES published as version 1.

    With ``auto_assign_engineers=False`` nobody is on shift, so new tickets wait in the queue to be claimed.
    """
    ensure_reference_data()
    RuleSet.objects.create(version=1, state=RuleSet.State.PUBLISHED, rules=RULES)
    org_a = Organisation.objects.create(name="Org A", tier="enterprise")
    org_b = Organisation.objects.create(name="Org B")
    on = auto_assign_engineers
    return World(
        org_a=org_a,
        org_b=org_b,
        customer_a=make_user("cust_a", Role.CUSTOMER, org=org_a),
        customer_b=make_user("cust_b", Role.CUSTOMER, org=org_b),
        t0_storage=make_user("t0_storage", Role.T0, lines=["storage"], always_on_shift=on),
        t0_storage2=make_user("t0_storage2", Role.T0, lines=["storage"], always_on_shift=on),
        t0_network=make_user("t0_network", Role.T0, lines=["network"], always_on_shift=on),
        l1_storage=make_user("l1_storage", Role.L1, lines=["storage"], always_on_shift=on),
        l2=make_user("l2_all", Role.L2, lines=["storage", "network"], always_on_shift=on),
        lead=make_user("lead", Role.LEAD, lines=[]),
    )


FULL_SUMMARY = dict(
    problem="PutObject returns 403 AccessDenied for the RAM user since the policy change",
    checked="Checked the RAM policy, bucket ACL and the bucket policy; reproduced with ossutil",
    findings="Bucket policy denies oss:PutObject for the VPC endpoint; request id in the logs",
    identifiers="bucket acme-assets, RequestId 5F1A-22B0",
    time_window="2026-11-20 10:00 to 11:00 UTC+8",
    impact="Uploads from the production app fail for all users",
)
