"""The engineer queue: three tabs (mine, my lines, about to breach), htmx filters, keyset pages, inline claim."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape as _esc  # Django's escape() is this plus a lazy-aware SafeString wrapper, per call
from typing import Any

from django import forms
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import empty
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework.desk.access import permissions
from casework.desk.errors import DeskError
from casework.desk.prepared import PreparedQuery
from casework.desk.team.models import Line, Product
from casework.desk.tickets import services
from casework.desk.tickets.models import OPEN_STATUSES, Status, Ticket
from casework.desk.views import queue_html, queue_rows
from casework.desk.views.common import allowed_actions, desk_view, is_htmx, require
from casework.desk.views.forms import QueueFilterForm
from casework.desk.views.keyset import Page, paginate, paginate_parts
from casework.desk.views.queue_rows import QueueRow
from casework.desk.views.timefmt import since, until
from casework.desk.views.urlcache import url_for, url_maker

PAGE_SIZE = 25
TABS = ("mine", "lines", "breach")


# --- SLA hook ---------------------------------------------------------------------------------------------
# The SLA work provides ``casework.desk.sla.queries.annotate_sla(qs)``: it annotates each ticket with its SLA
# state so the queue can sort by time left and flag tickets about to breach. Until that module exists the
# queue orders by severity and age, and "about to breach" shows the most severe, oldest open tickets.
def _sla_hook() -> Any | None:
    try:
        from casework.desk.sla import queries
    except ImportError:
        return None
    return queries if hasattr(queries, "annotate_sla") else None


def _annotate_sla(qs: QuerySet[Ticket]) -> tuple[QuerySet[Ticket], bool]:
    hook = _sla_hook()
    if hook is None:
        return qs, False
    return hook.annotate_sla(qs), True


def _about_to_breach(qs: QuerySet[Ticket]) -> tuple[QuerySet[Ticket], list[tuple[str, bool]]]:
    hook = _sla_hook()
    if hook is not None and hasattr(hook, "about_to_breach"):
        qs = hook.about_to_breach(hook.annotate_sla(qs))
        return qs, [("sla_due_at", False), ("id", False)]
    # No SLA clocks yet: P1/P2 first, oldest first.
    return qs.filter(severity__in=["P1", "P2"]), [("severity", False), ("created_at", False), ("id", False)]
# ---------------------------------------------------------------------------------------------------------


# What a queue row shows (``_row_html``) and sorts on: the wide columns (description, identifiers JSON, tags)
# are never read, so a page never sorts or ships them.
ROW_FIELDS = (
    "ref", "severity", "subject", "escalations", "bounces", "status", "tier", "created_at", "updated_at",
    "organisation__name", "product", "line", "assignee__username", "assignee__profile__display_name",
)
# Product and line codes come from the rows the page reads anyway (the user's lines, the product filter), not from
# two more joins: PostgreSQL's planning time grows with every table of the row query (≈ 6 ms of planning for
# 1.8 ms of execution with them).
ROW_RELATED = ("organisation", "assignee__profile")
# Tab counts stop here ("1000+"): counting every open ticket of busy lines on each page view costs more than
# the page itself (bench/RESULTS.md, "Desk at scale").
COUNT_CAP = 1000
# …and are kept per user for a few seconds: the about-to-breach count still joins the SLA rows (≈ 20-40 ms at a
# million tickets), and a queue is reloaded far more often than its counts change noticeably.
COUNTS_TTL_S = 10
LINES_ORDER = [("severity", False), ("created_at", False), ("id", False)]


# The queue's per-request reads of small tables, compiled to SQL once per connection (``prepared.py``).
_MY_LINES = PreparedQuery(lambda profile_id: Line.objects.filter(engineers=profile_id), -918273645)
_PRODUCTS = PreparedQuery(lambda: Product.objects.values_list("id", "code", "name"))


@dataclass(frozen=True, slots=True)
class _Option:
    """A product row for the filter and the row codes (what the filter reads of a ``Product``: its ``code`` as the
    value, ``str()`` — the name — as the label)."""

    pk: int
    code: str
    name: str

    def __str__(self) -> str:
        return self.name


def _scope(user: Any) -> tuple[Any, list[Line]]:
    """The user's profile and lines, read once per request (the ids scope the tabs, the rows fill the filter)."""
    profile = getattr(user, "profile", None)
    return profile, (_MY_LINES.models(profile.pk) if profile is not None else [])


def _open_tickets(user: Any, line_ids: list[int]) -> QuerySet[Ticket]:
    """Open tickets of the user's lines. The queue is for engineers and staff only: engineers see their lines'
    tickets (and their own), staff all, so for a user with lines this is ``visible_tickets`` ∩ those lines,
    without the OR that keeps the planner off the queue indexes."""
    if line_ids:
        return Ticket.objects.filter(line_id__in=line_ids, status__in_literals=OPEN_STATUSES)
    return permissions.visible_tickets(user).filter(status__in_literals=OPEN_STATUSES)


def _mine(user: Any) -> QuerySet[Ticket]:
    # Assigned to me: visible to me whatever my role (engineers see their own, staff everything).
    return Ticket.objects.filter(assignee_id=user.pk, status__in_literals=OPEN_STATUSES)


def _claimable(tier: str | None) -> Q:
    return Q(assignee__isnull=True) & Q(tier=tier or "")


def _filtered(qs: QuerySet[Ticket], form: QueueFilterForm | _NoFilters) -> QuerySet[Ticket]:
    if not form.is_valid():
        return qs
    data = form.cleaned_data
    if data.get("severity"):
        qs = qs.filter(severity=data["severity"])
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("line"):
        qs = qs.filter(line=data["line"])
    if data.get("product"):
        qs = qs.filter(product=data["product"])
    if data.get("q"):
        q = data["q"].strip()
        qs = qs.filter(Q(ref__iexact=q) | Q(subject__icontains=q))
    return qs


def _capped_count(qs: QuerySet[Ticket], order: list[str]) -> str:
    # Ordered like the tab's index so PostgreSQL reads at most COUNT_CAP + 1 index entries (without an order
    # it may pick a sequential scan that walks the closed tickets before the open ones).
    n = qs.order_by(*order)[: COUNT_CAP + 1].count()
    return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)


def _counts(user: Any, line_ids: list[int]) -> dict[str, str]:
    key = _counts_key(user)
    cached = cache.get(key)
    if cached is not None and cached[0] == line_ids:
        return cached[1]
    counts = _count_tabs(user, line_ids)
    cache.set(key, (line_ids, counts), COUNTS_TTL_S)
    return counts


def _counts_key(user: Any) -> str:
    return f"casework:queue-counts:{user.pk}"


def _count_tabs(user: Any, line_ids: list[int]) -> dict[str, str]:
    lines = _open_tickets(user, line_ids)
    hook = _sla_hook()
    if hook is not None and hasattr(hook, "about_to_breach"):
        # Unordered: any 1,001 matching rows will do, and PostgreSQL then stops after them (a nested loop from the
        # warn_at index, ~5 ms at a million tickets) instead of sorting all of them by due time (~30 ms).
        breach = _capped_count(hook.about_to_breach(lines), [])
    else:
        breach = _capped_count(lines.filter(severity__in=["P1", "P2"]), ["severity", "created_at", "id"])
    return {
        "mine": _capped_count(_mine(user), ["severity", "-updated_at", "-id"]),
        "lines": _capped_count(lines, ["severity", "created_at", "id"]),
        "breach": breach,
    }


class _NoFilters:
    """What the view reads of the filter form when the request sets no filter (the common case: ``?tab=…``): the
    empty form's cleaned data, without building the form (a deep copy of its fields and their querysets, ~6 % of a
    queue page's CPU). The filter bar's HTML, cached by the request's values, is rendered from a real form."""

    cleaned_data: dict[str, Any] = {"severity": "", "status": "", "line": None, "product": None, "q": ""}
    fields = QueueFilterForm.base_fields

    def __init__(self, data: Any) -> None:
        self.data = data
        self.is_bound = bool(data)

    def is_valid(self) -> bool:
        return True


def _filter_form(data: Any, line_ids: list[int], *, real: bool = False) -> QueueFilterForm | _NoFilters:
    """The queue's filter form for the request's values (lines offered: the user's, if any)."""
    if not real and not any(data.get(name) for name in QueueFilterForm.base_fields):
        return _NoFilters(data)
    form = QueueFilterForm(data or None)
    if line_ids:
        form.fields["line"].queryset = Line.objects.filter(pk__in=line_ids)
    return form


def _page(user: Any, tab: str, form: QueueFilterForm | _NoFilters, profile: Any, line_ids: list[int], after: str | None
          ) -> tuple[Page, bool]:
    """One page of the tab. The common case (a user with lines, no free-text search) is hand-written SQL
    (``queue_rows.py``); the rest goes through the ORM (:func:`_orm_page`), which is also the reference the SQL
    path is tested against. Rows are :class:`QueueRow` either way."""
    filters = _sql_filters(form) if line_ids and _sla_hook() is not None else None
    if filters is None:
        page, with_sla = _orm_page(user, tab, form, profile, line_ids, after)
        return Page(rows=[QueueRow.of_ticket(t) for t in page.rows], next_cursor=page.next_cursor), with_sla
    now = timezone.now()
    if tab == "breach":
        return queue_rows.breach_page(line_ids=line_ids, filters=filters, cursor=after, size=PAGE_SIZE, now=now), True
    if tab == "mine":
        return queue_rows.mine_page(user_id=user.pk, filters=filters, cursor=after, size=PAGE_SIZE, now=now), True
    tier = profile.tier if profile is not None else None
    return queue_rows.lines_page(line_ids=line_ids, tier=tier, filters=filters, cursor=after, size=PAGE_SIZE,
                                 now=now), True


def _sql_filters(form: QueueFilterForm | _NoFilters) -> queue_rows.Filters | None:
    """The form's filters for the SQL path; None when it cannot take them (a free-text search)."""
    if not form.is_valid():
        return queue_rows.Filters()  # as the ORM path: an invalid filter form filters nothing
    data = form.cleaned_data
    if data.get("q"):
        return None
    line, product = data.get("line"), data.get("product")
    return queue_rows.Filters(severity=data.get("severity") or "", status=data.get("status") or "",
                              line_id=line.pk if line is not None else None,
                              product_id=product.pk if product is not None else None)


def _orm_page(user: Any, tab: str, form: QueueFilterForm | _NoFilters, profile: Any, line_ids: list[int], after: str | None
              ) -> tuple[Page, bool]:
    def rows(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
        return _filtered(qs, form).select_related(*ROW_RELATED).only(*ROW_FIELDS)

    if tab == "breach":
        qs, order = _about_to_breach(rows(_open_tickets(user, line_ids)))
        return paginate(qs, order=order, cursor=after, size=PAGE_SIZE), _sla_hook() is not None
    if tab == "mine":
        qs, with_sla = _annotate_sla(rows(_mine(user)))
        order = [("severity", False), ("updated_at", False), ("id", False)]
        return paginate(qs, order=order, cursor=after, size=PAGE_SIZE), with_sla
    # My lines: what I could pick up right now (unassigned at my tier) first, then everything else — two keyset
    # queries, each served by a partial index in (severity, created_at, id) order, instead of one sort of every
    # open ticket of the lines by a CASE expression.
    tier = profile.tier if profile is not None else None
    lines = rows(_open_tickets(user, line_ids))
    parts = [lines.filter(_claimable(tier)), lines.exclude(_claimable(tier))]
    annotated = [_annotate_sla(p) for p in parts]
    page = paginate_parts([p for p, _w in annotated], order=LINES_ORDER, cursor=after, size=PAGE_SIZE)
    return page, annotated[0][1]


@desk_view
def queue(request: HttpRequest) -> HttpResponse:
    require(request.user, "engineer_queue")
    # The user itself rather than request.user's lazy wrapper: the page reads it once per row and more.
    user = request.user if (wrapped := getattr(request.user, "_wrapped", empty)) is empty else wrapped
    tab = request.GET.get("tab", "lines")
    if tab not in TABS:
        tab = "lines"
    profile, lines = _scope(user)
    line_ids = [line.pk for line in lines]
    form = _filter_form(request.GET, line_ids)
    page, with_sla = _page(user, tab, form, profile, line_ids, request.GET.get("after"))
    # The line and product filters' rows, which also give the rows their codes.
    line_objs = lines or list(Line.objects.all())  # the form's line choices: my lines, else every line
    products = [_Option(*r) for r in _PRODUCTS.rows()]  # what form.fields["product"].queryset reads
    codes = {"line": {x.pk: x.code for x in line_objs}, "product": {x.pk: x.code for x in products}}
    params = request.GET.copy()
    params.pop("after", None)
    rows = _rows(user, profile, page.rows)
    body = rows_html(rows, with_sla=with_sla, codes=codes)
    query = params.urlencode()
    # The page's parts are written by queue_html.py (the templates just output them); the context keeps what the
    # templates used to read, which tests/test_queue_page_render.py renders the old templates with.
    context = {
        "tab": tab, "form": form, "page": page, "rows": rows, "rows_html": body, "with_sla": with_sla,
        "params": query, "my_tier": profile.tier if profile is not None else None,
    }
    if is_htmx(request) and request.GET.get("after"):  # "load more": just the next rows
        context["html"] = queue_html.page_rows_html(rows=body, next_cursor=page.next_cursor, params=query)
        return render(request, "desk/queue/_rows.html", context)
    context["html"] = results = queue_html.results_html(
        tab=tab, rows=body, has_rows=bool(rows), next_cursor=page.next_cursor, params=query, with_sla=with_sla)
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-results":
        return render(request, "desk/queue/_results.html", context)
    context["counts"] = _counts(user, line_ids)
    context["filters"] = _filter_controls(form, {"line": line_objs, "product": products}, line_ids)
    context["content"] = queue_html.content_html(tab=tab, my_tier=context["my_tier"], counts=context["counts"],
                                                 filters=context["filters"], results=results)
    return render(request, "desk/queue/queue.html", context)


def _code(model: Any, pk: int | None) -> str:
    """A line's or product's code when the page's own rows lack it (a ticket of another line in "Mine")."""
    if pk is None:
        return ""
    return model.objects.filter(pk=pk).values_list("code", flat=True).first() or ""


def _row(ticket: Ticket, *, can_claim: bool, **extra: Any) -> dict[str, Any]:
    t = QueueRow.of_ticket(ticket)
    return {"t": t, "can_claim": can_claim, "url": url_for("ticket", t.ref), "claim_url": url_for("queue-claim", t.ref),
            **extra}


def _rows(user: Any, profile: Any, tickets: list[Ticket]) -> list[dict[str, Any]]:
    # Every row comes from the user's visible tickets, so the claim check needs no visibility query per row;
    # only unassigned tickets can be claimed at all.
    role = permissions.role_of(user)  # once per page, not per row
    ticket_url, claim_url = url_maker("ticket"), url_maker("queue-claim")
    return [
        {"t": t, "url": ticket_url(t.ref), "claim_url": claim_url(t.ref),
         "can_claim": t.assignee_id is None
         and "claim" in allowed_actions(user, t, visible=True, actions=("claim",), role=role)}
        for t in tickets
    ]


# (language, the form's values, the line and product rows) -> the filter bar's HTML: a function of exactly these,
# and the same for every reload of a queue.
_CONTROLS_CACHE: dict[tuple[Any, ...], list[tuple[str, str]]] = {}


def _filter_controls(form: QueueFilterForm | _NoFilters, objects: dict[str, list[Any]], line_ids: list[int]
                     ) -> list[tuple[str, str]]:
    key = (
        get_language(),
        tuple((name, form.data.get(name)) for name in form.fields) if form.is_bound else None,
        tuple((o.pk, o.code, str(o)) for o in objects.get("line") or ()),
        tuple((o.pk, o.code, str(o)) for o in objects.get("product") or ()),
    )
    controls = _CONTROLS_CACHE.get(key)
    if controls is None:
        if isinstance(form, _NoFilters):
            form = _filter_form(form.data, line_ids, real=True)
        controls = _render_filter_controls(form, objects)
        if len(_CONTROLS_CACHE) > 2000:
            _CONTROLS_CACHE.clear()
        _CONTROLS_CACHE[key] = controls
    return controls


def _render_filter_controls(form: QueueFilterForm, objects: dict[str, list[Any]]) -> list[tuple[str, str]]:
    """The filter bar's controls as HTML. The select boxes are written here rather than by Django's widget
    templates (one template render per <option>: ~40 per page, a third of the queue page's CPU); same markup:
    ``name``, ``id="id_<name>"``, the selected option. ``objects``: the rows of model fields' querysets, already
    read by the view."""
    controls = []
    for field in form:
        if not isinstance(field.field, forms.ChoiceField):
            controls.append((str(field.label), str(field)))
            continue
        value = field.value()
        current = "" if value is None else str(value)
        options = "".join(
            f'<option value="{escape(v)}"{" selected" if v == current else ""}>{escape(label)}</option>'
            for v, label in _choices(field.field, objects.get(field.name))
        )
        controls.append((str(field.label), format_html('<select name="{}" id="{}">{}</select>', field.html_name,
                                                  field.auto_id, mark_safe(options))))
    return controls


def _choices(field: forms.ChoiceField, objects: list[Any] | None = None) -> list[tuple[str, str]]:
    """``field.choices`` as strings; for a model field straight from its queryset (the iterator wraps every
    object in a ``ModelChoiceIteratorValue``), or from ``objects`` when they are that queryset's rows."""
    if not isinstance(field, forms.ModelChoiceField):
        return [(str(v), str(label)) for v, label in field.choices]
    key = field.to_field_name or "pk"
    head = [("", str(field.empty_label))] if field.empty_label is not None else []
    rows = field.queryset if objects is None else objects
    return head + [(str(getattr(obj, key)), str(field.label_from_instance(obj))) for obj in rows]


# --- rows as HTML ------------------------------------------------------------------------------------------
# A queue page has 25 rows; rendering ``_row.html`` once per row (an ``include`` with ~40 variable lookups, two
# ``{% translate %}``s and the ``timesince`` filter each) was half of the page's CPU. The rows are written here
# instead, with the same markup; ``_row.html`` / ``_rows.html`` just output it.


_LABELS: dict[str | None, dict[str, Any]] = {}


def _labels() -> dict[str, Any]:
    """The row's translated words, escaped, once per process and language."""
    lang = get_language()
    labels = _LABELS.get(lang)
    if labels is None:
        labels = {k: escape(v) for k, v in (
            ("escalations", _("escalations")), ("bounces", _("bounces")), ("breached", _("breached")),
            ("paused", _("paused")), ("claim", _("Claim")), ("claimed", _("Claimed")),
        )}
        # The choices' labels are lazy: str() them here, or escape() returns a lazy string that translates again
        # on every row it is formatted into.
        labels["status"] = {value: escape(str(label)) for value, label in Status.choices}
        labels["lang"] = lang
        _LABELS[lang] = labels
    return labels


def _truncated(text: str, n: int) -> str:
    """``text|truncatechars:n`` — without the per-character walk when the text is short enough anyway."""
    text = unicodedata.normalize("NFC", text)
    return text if len(text) <= n else Truncator(text).chars(n)


# Escaped text of the columns with few distinct values (organisations, codes, people, enum values), which repeat on
# every page: looked up instead of escaped again (a dozen escapes per row were a tenth of the page's Python).
_ESCAPED: dict[str, str] = {}


def _esc_few(text: str) -> str:
    escaped = _ESCAPED.get(text)
    if escaped is None:
        if len(_ESCAPED) > 20_000:
            _ESCAPED.clear()
        escaped = _ESCAPED[text] = _esc(text)
    return escaped


def _row_html(row: dict[str, Any], *, with_sla: bool, labels: dict[str, Any], now: datetime,
              codes: dict[str, dict[int, str]], tz: tzinfo | None = None) -> SafeString:
    """One queue row; ``tz``: the current time zone (``localtime``'s, looked up once per page)."""
    tz = tz or timezone.get_current_timezone()
    t: QueueRow = row["t"]
    lang = labels["lang"]
    product = codes["product"].get(t.product_id) or _code(Product, t.product_id)
    line = codes["line"].get(t.line_id) or _code(Line, t.line_id)
    ref = _esc(t.ref)
    url = _esc(row["url"])
    sev = _esc_few(t.severity)
    subject = _esc(_truncated(t.subject, 80))
    tags = ""
    if t.escalations:
        tags += f' <span class="tag esc" title="{labels["escalations"]}">↑{t.escalations}</span>'
    if t.bounces:
        tags += f' <span class="tag bounce" title="{labels["bounces"]}">↓{t.bounces}</span>'
    if t.assignee_id:
        who = _esc_few(t.assignee_display_name or t.assignee_username or "")
    else:
        who = '<span class="muted">—</span>'
    created = t.created_at.astimezone(tz)
    sla = ""
    if with_sla:
        if t.sla_breached:
            cell = f'<span class="tag bounce">{labels["breached"]}</span>'
        elif t.sla_paused:
            cell = f'<span class="muted">{labels["paused"]}</span>'
        elif t.sla_due_at:
            due = t.sla_due_at
            cls = "due-soon" if t.sla_about_to_breach else ""
            cell = (f'<span class="{cls}" title="{due.astimezone(tz):%Y-%m-%d %H:%M}">'
                    f'{_esc(until(due, now, lang=lang))}</span>')
        else:
            cell = '<span class="muted">—</span>'
        sla = f'\n  <td class="nowrap sla">{cell}</td>'
    actions = ""
    if row.get("can_claim"):
        actions += (f'<button class="small primary" hx-post="{_esc(row["claim_url"])}" hx-target="#row-{ref}" '
                    f'hx-swap="outerHTML">{labels["claim"]}</button>')
    if row.get("claimed"):
        actions += f'\n    <span class="ok">{labels["claimed"]}</span>'
    if row.get("error"):
        actions += f'\n    <span class="err">{_esc(row["error"])}</span>'
    classes = ("" if t.assignee_id else "unassigned") + (" just-claimed" if row.get("claimed") else "")
    return SafeString(
        f'<tr id="row-{ref}" class="{classes}">\n'
        f'  <td class="ref"><a href="{url}">{ref}</a></td>\n'
        f'  <td><span class="sev sev-{sev}">{sev}</span></td>\n'
        f'  <td class="subject"><a href="{url}">{subject}</a>{tags}</td>\n'
        f'  <td>{_esc_few(t.organisation_name)}</td>\n'
        f'  <td class="muted">{_esc_few(product)}</td>\n'
        f'  <td>{_esc_few(line)}</td>\n'
        f'  <td><span class="tier">{_esc_few(t.tier)}</span></td>\n'
        f'  <td><span class="status st-{_esc_few(t.status)}">{labels["status"].get(t.status) or _esc_few(t.status)}'
        f'</span></td>\n'
        f'  <td>{who}</td>\n'
        f'  <td class="muted nowrap" title="{created:%Y-%m-%d %H:%M}">'
        f'{_esc(since(t.created_at, now, lang=lang))}</td>{sla}\n'
        f'  <td class="actions">\n    {actions}\n  </td>\n'
        f'</tr>'
    )


def rows_html(rows: list[dict[str, Any]], *, with_sla: bool, codes: dict[str, dict[int, str]] | None = None
              ) -> SafeString:
    """``codes``: product and line codes by id (a row whose id is missing reads its own relation)."""
    labels, now, tz = _labels(), timezone.now(), timezone.get_current_timezone()
    codes = codes or {"product": {}, "line": {}}
    return SafeString("\n".join(_row_html(r, with_sla=with_sla, labels=labels, now=now, codes=codes, tz=tz)
                                 for r in rows))


@require_POST
@desk_view
def claim(request: HttpRequest, ref: str) -> HttpResponse:
    """Claim from the queue. htmx swaps the row in place (errors too: htmx does not swap 4xx answers)."""
    ticket = permissions.ticket_for(request.user, ref, "view")
    error = ""
    if not permissions.can(request.user, "claim", ticket):
        error = _("You cannot claim this ticket any more.")
        if ticket.assignee_id:
            error = _("Already taken by %(who)s.") % {"who": ticket.assignee}
    else:
        try:
            ticket = services.claim(ticket=ticket, engineer=request.user)
            cache.delete(_counts_key(request.user))  # "Mine" just grew: do not show the old count
        except DeskError as exc:
            error = " ".join(m for ms in exc.errors.values() for m in ms)
    if not is_htmx(request):
        return redirect("ticket", ref=ticket.ref)
    ticket = Ticket.objects.select_related("organisation", "product", "line", "assignee__profile").get(pk=ticket.pk)
    row = _row(ticket, can_claim=False, error=error, claimed=not error)
    return render(request, "desk/queue/_row.html", {"row": row, "row_html": rows_html([row], with_sla=False)})
