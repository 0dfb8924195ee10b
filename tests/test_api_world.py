"""A small desk for the API and permission-matrix tests (helpers only: this module holds no tests).

Two organisations, two lines, one user per role, and three tickets of organisation A in line X, each
brought to its state through ``tickets.services`` exactly as the desk would:

* ``open``      — at T0, claimed by the line's T0 engineer (status assigned), with an internal note;
* ``escalated`` — the same story, then escalated to L1 with a full case summary (unassigned: nobody is on shift);
* ``resolved``  — claimed by the T0 engineer and resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from casework.desk.access.tokens import issue_token
from casework.desk.routing.models import RuleSet
from casework.desk.team.models import Line, Organisation, Profile, Role
from casework.desk.team.reference import ensure_reference_data
from casework.desk.tickets import services
from casework.desk.tickets.models import Ticket

LINE_X = "storage"
LINE_Y = "network"

# Role keys of the matrix -> (profile role, organisation key, line codes)
ROLES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "cust_a": (Role.CUSTOMER, "a", ()),
    "cust_b": (Role.CUSTOMER, "b", ()),
    "t0_x": (Role.T0, None, (LINE_X,)),
    "t0_y": (Role.T0, None, (LINE_Y,)),
    "l1": (Role.L1, None, (LINE_X,)),
    "l2": (Role.L2, None, (LINE_X,)),
    "lead": (Role.LEAD, None, ()),
    "admin": (Role.ADMIN, None, ()),
}

# One published rule: OSS tickets go to the storage line (line X); everything else to the fallback line.
RULES = [
    {"name": "oss-to-storage", "enabled": True, "when": {"products": ["oss"]}, "then": {"line": LINE_X, "tags": ["oss"]}},
]

SUMMARY = services.SummaryInput(
    problem="GetObject returns 403 AccessDenied for one bucket since the RAM policy change",
    checked="Bucket ACL, RAM policy versions, STS token expiry and the request signature",
    findings="The new policy denies oss:GetObject on the prefix; request ids show the explicit deny",
    identifiers="bucket demo-assets, request id 5F1A2B3C4D5E",
    time_window="2024-05-06 09:00-10:30 UTC+8",
    impact="Product images fail to load for all users of the shop",
)

NOTE_MARKER = "INTERNAL-NOTE-7f3a: customer is on the legacy ACL path"


def make_user(username: str, role: str, *, organisation: Organisation | None = None,
              lines: tuple[str, ...] = ()) -> Any:
    # No password: hashing one per user would dominate the matrix's run time; clients log in by token
    # or force_login.
    user = get_user_model().objects.create_user(username=username)
    profile = Profile.objects.create(user=user, role=role, organisation=organisation, display_name=username)
    if lines:
        profile.lines.set(Line.objects.filter(code__in=lines))
    return user


def publish_rules(rules: list[dict[str, Any]] = RULES) -> RuleSet:
    return RuleSet.objects.create(version=1, state=RuleSet.State.PUBLISHED, rules=rules, published_at=timezone.now(),
                                  note="tests")


@dataclass
class World:
    users: dict[str, Any]
    orgs: dict[str, Organisation]
    tickets: dict[str, Ticket]

    def ticket(self, key: str) -> Ticket:
        return Ticket.objects.get(pk=self.tickets[key].pk)


def open_ticket(world_users: dict[str, Any], org: Organisation, subject: str, **extra: Any) -> Ticket:
    return services.create_ticket(
        organisation=org, contact=world_users["cust_a"] if org.name == "Org A" else None, product="oss",
        subject=subject, description="Images under /assets return 403 since this morning.", **extra,
    )


def build_world() -> World:
    ensure_reference_data()
    publish_rules()
    orgs = {
        "a": Organisation.objects.create(name="Org A", tier=Organisation.Tier.BUSINESS),
        "b": Organisation.objects.create(name="Org B", tier=Organisation.Tier.BASIC),
    }
    users = {
        key: make_user(key, role, organisation=orgs[org] if org else None, lines=lines)
        for key, (role, org, lines) in ROLES.items()
    }
    t0 = users["t0_x"]
    tickets = {}
    for key in ("open", "escalated", "resolved"):
        ticket = open_ticket(users, orgs["a"], f"OSS 403 on bucket ({key})")
        services.claim(ticket=ticket, engineer=t0)
        services.add_note(ticket=ticket, actor=t0, body=f"{NOTE_MARKER} ({key})")
        tickets[key] = ticket
    services.escalate(ticket=tickets["escalated"], actor=t0, summary=SUMMARY)
    services.resolve(ticket=Ticket.objects.get(pk=tickets["resolved"].pk), actor=t0)
    return World(users=users, orgs=orgs, tickets=tickets)


def bearer(user: Any) -> dict[str, str]:
    """Headers for the Django test client: ``Authorization: Bearer <token>``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user, label='tests')}"}


def api_client(user: Any) -> Client:
    client = Client()
    client.defaults.update(bearer(user))
    return client
