"""The engineer queue page's content written in Python instead of Django templates, with the same markup.

Why: after the rows (``queue.py``'s ``_row_html``) and the filter bar (``_filter_controls``) moved out of templates,
rendering what was left of ``desk/queue/queue.html`` and its ``_results.html`` / ``_rows.html`` includes — about 40
nodes, twenty ``{% translate %}``s and their lazy strings — was still a quarter of the page's CPU at a million
tickets (bench/RESULTS.md, "Desk at scale"). Here the page is a few f-strings; the words are translated once per
process and language; everything else is escaped as the templates' autoescape did.
``tests/test_queue_page_render.py`` compares each part with the template it replaced
(``tests/data/queue_page/*_reference.html``) on every tab, empty and full pages, a next page, filters, a tier and
no tier, in English and Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from casework.desk.views.urlcache import url_for


@dataclass(frozen=True, slots=True)
class _Words:
    """The page's fixed text in one language, escaped (as ``{% translate %}`` output is under autoescape)."""

    queue: str
    your_tier: str  # "Your tier: %(my_tier)s" as blocktranslate reads it, not escaped: blocktranslate does not
    mine: str
    my_lines: str
    about_to_breach: str
    filter: str
    head: str  # the table's header cells up to "Age"
    sla_due_in: str
    load_more: str
    nothing_mine: str
    nothing_open: str


_WORDS: dict[str | None, _Words] = {}


def _words() -> _Words:
    lang = get_language()
    words = _WORDS.get(lang)
    if words is None:
        e = conditional_escape  # the templates' {% translate %} under autoescape; _("…") literal, outside f-strings, for makemessages
        # The header cells; each _("…") outside an f-string, where makemessages finds it.
        cells = [e(_("Ticket")), e(_("Sev")), e(_("Subject")), e(_("Organisation")), e(_("Product")), e(_("Line")),
                 e(_("Tier")), e(_("Status")), e(_("Assignee")), e(_("Age"))]
        head = "\n    ".join("".join(f"<th>{c}</th>" for c in cells[i:i + 3]) for i in (0, 3, 6, 9))
        words = _WORDS[lang] = _Words(
            queue=e(_("Queue")), your_tier=_("Your tier: %(my_tier)s"), mine=e(_("Mine")), my_lines=e(_("My lines")),
            about_to_breach=e(_("About to breach")), filter=e(_("Filter")), head=head, sla_due_in=e(_("SLA due in")),
            load_more=e(_("Load more")), nothing_mine=e(_("Nothing assigned to you. Pick something from your lines.")),
            nothing_open=e(_("No open tickets match.")),
        )
    return words


def _queue_url() -> str:
    return url_for("queue")


def page_rows_html(*, rows: str, next_cursor: str | None, params: str) -> SafeString:
    """What ``desk/queue/_rows.html`` rendered: the rows, then the "Load more" row when there is a next page."""
    more = ""
    if next_cursor:
        amp = "&" if params else ""
        more = (f'<tr class="more"><td colspan="12">\n'
                f'  <button hx-get="{_queue_url()}?{escape(params)}{amp}after={escape(next_cursor)}" '
                f'hx-target="closest tr" hx-swap="outerHTML">{_words().load_more}</button>\n'
                f'</td></tr>')
    return mark_safe(f"{rows}\n{more}\n")


def results_html(*, tab: str, rows: str, has_rows: bool, next_cursor: str | None, params: str,
                 with_sla: bool) -> SafeString:
    """What ``desk/queue/_results.html`` rendered: the table of rows and the empty-queue message."""
    w = _words()
    sla = f"<th>{w.sla_due_in}</th>" if with_sla else ""
    empty = ""
    if not has_rows:
        empty = f'<p class="empty">{w.nothing_mine if tab == "mine" else w.nothing_open}</p>'
    body = page_rows_html(rows=rows, next_cursor=next_cursor, params=params)
    return mark_safe(
        f'\n<table class="grid queue">\n'
        f'  <thead><tr>\n'
        f'    {w.head}{sla}<th></th>\n'
        f'  </tr></thead>\n'
        f'  <tbody>\n'
        f'  {body}\n'
        f'  </tbody>\n'
        f'</table>\n'
        f'{empty}\n'
    )


def content_html(*, tab: str, my_tier: str | None, counts: Mapping[str, str],
                 filters: Sequence[tuple[str, str]], results: str) -> SafeString:
    """What ``desk/queue/queue.html``'s content block rendered: heading, tabs with their counts, the filter bar and
    ``results`` (:func:`results_html`)."""
    w = _words()
    tier = ""
    if my_tier:
        tier = f'<span class="pill">{w.your_tier % {"my_tier": conditional_escape(my_tier)}}</span>'

    def on(name: str) -> str:
        return "on" if tab == name else ""

    controls = "".join(f'<label class="filter">{conditional_escape(label)} {conditional_escape(control)}</label>'
                       for label, control in filters)
    return mark_safe(
        f'\n<div class="page-head">\n'
        f'  <h1>{w.queue}</h1>\n'
        f'  {tier}\n'
        f'</div>\n'
        f'<nav class="tabs">\n'
        f'  <a href="?tab=mine" class="{on("mine")}">{w.mine} '
        f'<span class="count">{conditional_escape(counts.get("mine", ""))}</span></a>\n'
        f'  <a href="?tab=lines" class="{on("lines")}">{w.my_lines} '
        f'<span class="count">{conditional_escape(counts.get("lines", ""))}</span></a>\n'
        f'  <a href="?tab=breach" class="{on("breach")}">{w.about_to_breach} '
        f'<span class="count warn">{conditional_escape(counts.get("breach", ""))}</span></a>\n'
        f'</nav>\n'
        f'<form class="filters" hx-get="{_queue_url()}" hx-target="#queue-results" hx-push-url="true"\n'
        f'      hx-trigger="change, keyup changed delay:350ms from:input[name=q]">\n'
        f'  <input type="hidden" name="tab" value="{conditional_escape(tab)}">\n'
        f'  {controls}\n'
        f'  <noscript><button type="submit">{w.filter}</button></noscript>\n'
        f'</form>\n'
        f'<div id="queue-results">{results}</div>\n'
    )
