"""The engineer's ticket page written partly in Python (views/ticket_html.py) and read with compiled-once SQL
(prepared.py) shows exactly what the templates showed.

The reference is the page as it was: ``tests/data/ticket_page/ticket_reference.html`` is the ticket template before
the change (``{% include "desk/_timeline.html" %}``, ``{% include "desk/_fields.html" %}``, ``{% url %}``), rendered
with the context the view used to build from model instances (events with their actor, line and engineer objects).
Compared on a ticket with every event kind, for an assignee, an engineer of the line, an L1 and a lead, in English
and Chinese, in two time zones, and on a refused action (bound form with errors).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.backends.db import SessionStore
from django.template import engines
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone, translation

from browser import DEMO_RULES, make_user, publish_rules
from casework.desk.prepared import PreparedQuery
from casework.desk.team.models import Line, Organisation, Profile
from casework.desk.team.reference import ensure_reference_data
from casework.desk.tickets import events, services
from casework.desk.tickets.models import CaseSummary, EventKind, Message, Ticket, TicketEvent
from casework.desk.views import ticket as ticket_view
from casework.desk.views import ticket_html, timeline
from casework.desk.views.common import _activate_timezone, allowed_actions
from casework.desk.views.forms import EscalateForm, ReassignForm

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).parent / "data" / "ticket_page" / "ticket_reference.html"
SUMMARY = {
    "problem": "GetObject returns 403 <AccessDenied> for every object under /exports",
    "checked": "Bucket policy & RAM role\nSTS token expiry\nOSS access logs",
    "findings": "Access log shows AccessDenied with the new explicit Deny on oss:GetObject",
    "identifiers": "bucket acme-exports, request 5F3A0C2E8E1B4C7D",
    "time_window": "2025-03-04 10:00-10:40 +08:00",
    "impact": "Nightly export job fails for all customers of acme",
}


def _world() -> dict[str, Any]:
    """A ticket that went through every kind of event, by people with and without a display name or profile."""
    ensure_reference_data()
    publish_rules(DEMO_RULES)
    org = Organisation.objects.create(name="Acme <Retail> & Co", tier="enterprise")
    users = {
        "cust": make_user(username="cust_a", role="customer", organisation=org, display_name="Li Na"),
        "t0": make_user(username="t0", role="t0", lines=["storage"], readiness=["oss"], display_name="Chen T0"),
        "t0_b": make_user(username="t0_b", role="t0", lines=["storage"], readiness=["oss"]),
        "l1": make_user(username="l1", role="l1", lines=["storage"], readiness=["oss"], display_name="Wang L1"),
        "lead": make_user(username="lead", role="lead", lines=["storage"]),
    }
    Profile.objects.filter(user=users["t0_b"]).update(display_name="", timezone="UTC")  # name falls back
    Profile.objects.filter(user=users["l1"]).update(timezone="America/New_York")
    no_profile = get_user_model().objects.create_user(username="robot", password="pw")
    ticket = services.create_ticket(
        organisation=org, contact=users["cust"], product="oss", severity="P2",
        subject="OSS GetObject returns 403 <b>AccessDenied</b>", description="Since 10:00\nevery GetObject fails.",
        identifiers={"instance_ids": ["i-bp1exports"], "request_ids": "5F3A0C2E8E1B4C7D", "window_start": "10:00"},
    )
    t0, l1 = users["t0"], users["l1"]
    services.claim(ticket=ticket, engineer=t0)
    services.reply(ticket=ticket, actor=t0, body="Looking at <the> bucket policy.\nOne moment.", pending_customer=True)
    services.reply(ticket=ticket, actor=users["cust"], body="Thanks & hurry")
    services.add_note(ticket=ticket, actor=t0, body="Customer changed the policy at 09:58")
    now = timezone.now()
    events.attached(ticket=ticket, at=now, actor=users["cust"], name="policy<1>.json", size=10, internal=False)
    events.attached(ticket=ticket, at=now, actor=no_profile, name="internal.log", size=10, internal=True)
    events.sla_paused(ticket=ticket, at=now, clocks=["resolution"])
    events.sla_resumed(ticket=ticket, at=now, clocks=["resolution"])
    events.sla_breached(ticket=ticket, at=now, clock="first_response", due=now - timedelta(hours=1))
    services.escalate(ticket=ticket, actor=t0, summary=services.SummaryInput(**SUMMARY))
    ticket.refresh_from_db()
    services.return_down(ticket=ticket, actor=l1, reason="No access log excerpt\nattached")
    ticket.refresh_from_db()
    services.reassign_line(ticket=ticket, actor=t0, line=Line.objects.get(code="network"), reason="Actually a VPC issue")
    ticket.refresh_from_db()
    services.reassign_line(ticket=ticket, actor=t0, line=Line.objects.get(code="storage"), reason="Back: it is OSS")
    events.rated(ticket=ticket, at=now, actor=users["cust"], rating="bad", comment="Too <slow>")
    events.assigned(ticket=ticket, at=now, actor=users["lead"], engineer=users["t0_b"], how="manual")
    ticket.refresh_from_db()
    # A second ticket nobody touched yet (claimable, no summary), and one at L1 (the L1's actions).
    fresh = services.create_ticket(organisation=org, contact=None, product="oss", severity="P4",
                                   subject="Listing is slow", description="ListObjects takes 8 s.")
    at_l1 = services.create_ticket(organisation=org, contact=users["cust"], product="oss", severity="P1",
                                   subject="Bucket gone", description="404 on every request.")
    services.claim(ticket=at_l1, engineer=t0)
    services.escalate(ticket=at_l1, actor=t0, summary=services.SummaryInput(**SUMMARY))
    return {"users": users, "tickets": [ticket, fresh, at_l1]}


def _request(user: Any, ref: str, lang: str) -> Any:
    """A GET of the ticket page as the middleware leaves it: user, session, messages, language, time zone."""
    request = RequestFactory().get(f"/t/{ref}/")
    request.user = get_user_model().objects.select_related("profile").get(pk=user.pk)
    request.session = SessionStore()
    request._messages = default_storage(request)
    request.LANGUAGE_CODE = lang
    translation.activate(lang)
    _activate_timezone(request.user)
    return request


def _reference_timeline(ticket: Ticket, *, internal: bool, summaries: list[CaseSummary]) -> list[timeline.Item]:
    """The timeline items as the view built them before: events read with their actor, line and engineer objects
    (``select_related``) and every name taken from those objects."""
    msgs = {m.pk: timeline._Msg(m.body, m.internal) for m in Message.objects.filter(ticket=ticket)}
    by_pk = {s.pk: s for s in summaries} if internal else {}
    items = []
    for ev in TicketEvent.objects.filter(ticket=ticket).select_related("actor__profile", "line", "engineer__profile"):
        if not internal and ev.kind not in timeline.PUBLIC_KINDS:
            continue
        row = timeline.EventRow(ev.kind, ev.created_at, ev.data or {}, timeline._name(ev.actor),
                                str(ev.line) if ev.line is not None else None, timeline._name(ev.engineer))
        item = timeline._item(row, ticket=ticket, msgs=msgs, summaries=by_pk, internal=internal)
        if item is not None:
            items.append(item)
    return items


def _reference_page(request: Any, ref: str, bound: dict[str, Any] | None = None) -> str:
    """The page as the template before the change rendered it, from model instances."""
    ticket = Ticket.objects.select_related(*ticket_view.PAGE_RELATED).get(ref=ref)
    allowed = allowed_actions(request.user, ticket)
    forms = {name: cls() for name, cls in ticket_view.FORMS.items() if name in allowed}
    if "reassign" in forms:
        forms["reassign"].fields["line"].queryset = Line.objects.exclude(pk=ticket.line_id)
    forms.update(bound or {})
    internal = "view_internal" in allowed
    summaries = list(ticket.summaries.select_related("author__profile")) if internal else []
    context = {
        "ticket": ticket, "allowed": allowed, "forms": forms,
        "has_actions": bool(allowed & {"claim", "escalate", "return", "reassign", "resolve"}),
        "open_form": next(iter(bound)) if bound else "",
        "timeline": _reference_timeline(ticket, internal=internal, summaries=summaries),
        "identifiers": ticket_view._identifiers(ticket), "summaries": summaries[:3],
    }
    return engines["django"].from_string(REFERENCE.read_text()).render(context, request)


def _normalised(html: str) -> str:
    """Without what differs between two renders: the CSRF tokens (masked anew each time) and the SLA "in 3 hours,
    2 minutes" (the clock may tick between the two renders)."""
    html = re.sub(r'(csrfmiddlewaretoken" value=")[^"]+', r"\1X", html)
    html = re.sub(r'("X-CSRFToken": ")[^"]+', r"\1X", html)
    return re.sub(r"(<dt>[^<]*SLA[^<]*</dt><dd[^>]*>)[^<]*", r"\1…", html)


@pytest.fixture
def world() -> dict[str, Any]:
    return _world()


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_ticket_page_is_the_reference_page_for_every_viewer(world: dict[str, Any], lang: str) -> None:
    compared = 0
    kinds: set[str] = set()
    for who in ("t0", "t0_b", "l1", "lead"):
        for ticket in world["tickets"]:
            ref = ticket.ref
            new = ticket_view.ticket_page(_request(world["users"][who], ref, lang), ref)
            assert new.status_code == 200
            reference = _reference_page(_request(world["users"][who], ref, lang), ref)
            assert _normalised(new.content.decode()) == _normalised(reference), (who, ref, lang)
            # One masked CSRF token for the whole page (forms and the htmx header), as one template render had.
            tokens = re.findall(r'csrfmiddlewaretoken" value="([^"]+)|"X-CSRFToken": "([^"]+)', new.content.decode())
            assert len({a or b for a, b in tokens}) == 1 and len(tokens) >= 3
            kinds |= set(re.findall(r'data-kind="(\w+)"', reference))
            compared += 1
    assert compared == 12
    assert kinds == set(EventKind.values)  # every kind of event was on a compared page


def test_refused_action_page_is_the_reference_page(world: dict[str, Any]) -> None:
    """A refused escalation (400) shows the bound form with its errors, opened, the others as usual."""
    ticket = world["tickets"][2]  # at L1, unassigned: the lead may escalate it further
    lead = world["users"]["lead"]
    request = _request(lead, ticket.ref, "en")
    form = EscalateForm({"problem": "broken"})
    assert form.is_valid()  # the service refuses, not the form
    form.add_error("checked", "Too short <10 chars>")
    new = ticket_view._refused(request, ticket, "escalate", form)
    assert new.status_code == 400
    reference = _reference_page(_request(lead, ticket.ref, "en"), ticket.ref, {"escalate": form})
    assert _normalised(new.content.decode()) == _normalised(reference)
    assert 'class="field-error" data-for="checked">Too short &lt;10 chars&gt;<' in reference


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/New_York"])
def test_timeline_html_is_the_timeline_template(world: dict[str, Any], zone: str) -> None:
    ticket = world["tickets"][0]
    timezone.activate(zone)
    for lang in ("en", "zh-hans"):
        translation.activate(lang)
        for internal in (True, False):
            items = timeline.build_timeline(ticket, internal=internal)
            assert items
            html = render_to_string("desk/_timeline.html", {"timeline": items})
            assert ticket_html.timeline_html(items) == html
    assert ticket_html.timeline_html([]) == render_to_string("desk/_timeline.html", {"timeline": []})
    timezone.deactivate()


def test_timeline_ambiguous_local_time_has_no_zone_name(world: dict[str, Any]) -> None:
    """At the hour a clock goes back twice, Django's ``date`` filter leaves the zone name out; so does ours."""
    from datetime import UTC, datetime

    timezone.activate("America/New_York")
    at = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, then again 01:30 EST
    items = [timeline.Item("claimed", at, "x", "claimed"), timeline.Item("claimed", at + timedelta(hours=1), "", "y")]
    html = render_to_string("desk/_timeline.html", {"timeline": items})
    assert 'title="2026-11-01 01:30:00 "' in html
    assert ticket_html.timeline_html(items) == html
    timezone.deactivate()


def test_event_rows_name_people_as_the_model_objects_do(world: dict[str, Any]) -> None:
    for ticket in world["tickets"]:
        rows = timeline.read_events(ticket.pk)
        objs = list(TicketEvent.objects.filter(ticket=ticket).select_related("actor__profile", "line",
                                                                             "engineer__profile"))
        assert len(rows) == len(objs) > 0
        for row, ev in zip(rows, objs, strict=True):
            assert (row.kind, row.created_at, row.data) == (ev.kind, ev.created_at, ev.data)
            assert row.actor == timeline._name(ev.actor) and row.engineer == timeline._name(ev.engineer)
            assert row.line == (str(ev.line) if ev.line is not None else None)
            assert row.get_kind_display() == ev.get_kind_display()
    names = {r.actor for r in timeline.read_events(world["tickets"][0].pk)}
    assert {"robot", "Chen T0", "casework"} <= names  # no profile, a display name, no actor


def test_cached_form_html_follows_the_language_and_the_lines(world: dict[str, Any]) -> None:
    def reassign_html(line_id: int) -> tuple[str, str]:
        form = ReassignForm()
        form.fields["line"].queryset = Line.objects.exclude(pk=line_id)
        key = tuple((code, name) for pk, code, name in ticket_view._LINES.rows() if pk != line_id)
        cached = ticket_html.unbound_fields_html(ReassignForm, key=key, setup=lambda f: ticket_view._offer_lines(
            f, line_id=line_id))
        return cached, render_to_string("desk/_fields.html", {"form": form})

    storage = Line.objects.get(code="storage")
    for lang in ("en", "zh-hans", "en"):
        translation.activate(lang)
        cached, rendered = reassign_html(storage.pk)
        assert cached == rendered
    Line.objects.filter(code="network").update(name="Networking <VPC>")  # a renamed line shows at once
    cached, rendered = reassign_html(storage.pk)
    assert cached == rendered and "Networking &lt;VPC&gt;" in cached
    bound = EscalateForm({"problem": "x"})
    bound.add_error("impact", "required")
    assert ticket_html.fields_html(bound) == render_to_string("desk/_fields.html", {"form": bound})


def test_prepared_query_gives_what_the_queryset_gives(world: dict[str, Any]) -> None:
    prepared = PreparedQuery(lambda ref: Ticket.objects.select_related("line", "assignee__profile", "sla")
                             .filter(ref=ref), "REF0MARKER")
    for ticket in world["tickets"]:
        (got,) = prepared.models(ticket.ref)
        want = Ticket.objects.select_related("line", "assignee__profile", "sla").get(ref=ticket.ref)
        assert [getattr(got, f.attname) for f in Ticket._meta.concrete_fields] == \
            [getattr(want, f.attname) for f in Ticket._meta.concrete_fields]
        assert Ticket.line.is_cached(got) and got.line == want.line
        assert got.sla.pk == want.sla.pk and got.sla.due_at == want.sla.due_at
        assert (got.assignee and got.assignee.profile.display_name) == (want.assignee and want.assignee.profile.display_name)
    assert prepared.models("NOSUCHREF") == []
    rows = PreparedQuery(lambda tid: Message.objects.filter(ticket_id=tid).values_list("id", "body"), -1)
    ticket = world["tickets"][0]
    assert rows.rows(ticket.pk) == list(Message.objects.filter(ticket=ticket).values_list("id", "body"))
    # A placeholder the queryset does not pass as a parameter of its own is refused, not silently ignored.
    with pytest.raises(ValueError, match="placeholder"):
        PreparedQuery(lambda ref: Ticket.objects.filter(subject__contains=ref), "REF0MARKER").models("x")
