"""The engineer queue page written in Python (views/queue_html.py) shows exactly what its templates showed.

The references are the templates as they were (``tests/data/queue_page/*_reference.html``: the content block of
``desk/queue/queue.html`` with ``_results.html`` and ``_rows.html`` inlined, and those two alone for the htmx
answers), rendered with the context the view still passes. Compared through the real view on the demo's tickets for
an engineer with a tier and a lead without one, on every tab (an empty "Mine" included), with filters (an invalid
one, a search with markup characters), on a first and a next page, as full pages and as htmx answers, in English and
Chinese.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.template import engines
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from casework.desk.team.models import Profile, Role
from casework.desk.views import queue

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "queue_page"
CONTEXT_KEYS = ("tab", "form", "page", "rows", "rows_html", "with_sla", "params", "my_tier", "counts", "filters")


def _source(name: str) -> str:
    text = (DATA / f"{name}_reference.html").read_text()
    # The content block included _results.html: its reference goes where the marker is.
    return text.replace("[results_reference.html]", _source("results")) if name == "content" else text


def _reference(name: str, response: Any) -> str:
    template = engines["django"].from_string(_source(name))
    context = {k: response.context[k] for k in CONTEXT_KEYS if k in response.context}
    return template.render(context, request=response.wsgi_request)


@pytest.fixture
def demo() -> None:
    from casework.desk.demo import DemoSpec, load_demo
    from casework.desk.sla import jobs
    from casework.desk.sla.policies import ensure_default_policies

    ensure_default_policies()
    load_demo(DemoSpec(tickets=120, weeks=2, seed=11), now=timezone.now())
    jobs.check_breaches(now=timezone.now())


def _client(user: Any, lang: str) -> Client:
    c = Client()
    c.force_login(user)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return c


def test_queue_parts_equal_the_templates_they_replaced(demo: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "PAGE_SIZE", 5)  # next pages everywhere
    engineer = (Profile.objects.filter(role__in=[Role.T0, Role.L1], lines__isnull=False)
                .select_related("user").order_by("user__username").first())
    lead = Profile.objects.filter(role=Role.LEAD, lines__isnull=False).select_related("user").first()  # no tier
    assert engineer is not None and engineer.tier and lead is not None and not lead.tier
    # The last search matches nothing, so every tab has an empty page whatever the demo's clock made of the rest.
    queries = ["", "&severity=P1", "&status=in_progress", "&severity=nonsense", "&q=%3Cb%3E%26%22x",
               "&product=oss", "&line=storage", "&q=no-such-ticket-anywhere"]
    compared = {"content": 0, "results": 0, "rows": 0, "empty": 0, "more": 0, "tier": 0}
    for profile in (engineer, lead):
        for lang in ("en", "zh-hans"):
            c = _client(profile.user, lang)
            for tab in queue.TABS:
                for q in queries:
                    url = reverse("queue") + f"?tab={tab}{q}"
                    full = c.get(url)
                    assert full.status_code == 200
                    expected = _reference("content", full)
                    assert str(full.context["content"]) == expected, url
                    assert expected in full.content.decode()
                    compared["content"] += 1
                    compared["empty"] += not full.context["rows"]
                    compared["tier"] += bool(full.context["my_tier"])
                    part = c.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results")
                    assert part.content.decode() == _reference("results", part), url
                    compared["results"] += 1
                    cursor = full.context["page"].next_cursor
                    if cursor:
                        more = c.get(url + f"&after={cursor}", HTTP_HX_REQUEST="true")
                        assert more.content.decode() == _reference("rows", more), url
                        compared["rows"] += 1
                        compared["more"] += bool(more.context["page"].next_cursor)
    # The comparisons covered what they claim: empty pages, the tier pill and its absence, first, middle and
    # last pages.
    assert compared["empty"] and compared["tier"] and compared["tier"] < compared["content"]
    assert compared["rows"] and compared["more"] and compared["more"] < compared["rows"]
    assert compared["content"] == 2 * 2 * len(queue.TABS) * len(queries)


@pytest.mark.parametrize("query", ["", "tab=lines", "tab=mine&severity=&status=&q=", "after=abc&tab=breach&line="])
def test_no_filter_stand_in_reads_like_the_empty_form(query: str) -> None:
    """Without filter values the view skips building the form (``queue._NoFilters``): it must read exactly like the
    form would — cleaned data, validity, bound-ness — and the filter bar rendered from it must be the form's."""
    from django.http import QueryDict

    from casework.desk.views.forms import QueueFilterForm

    data = QueryDict(query)
    stand_in = queue._filter_form(data, [])
    assert isinstance(stand_in, queue._NoFilters)
    form = QueueFilterForm(data or None)
    assert stand_in.is_bound == form.is_bound and stand_in.data is data
    if form.is_bound:
        assert form.is_valid() and stand_in.is_valid() and stand_in.cleaned_data == form.cleaned_data
    objects = {"line": [], "product": []}
    queue._CONTROLS_CACHE.clear()
    from_stand_in = queue._filter_controls(stand_in, objects, [])
    queue._CONTROLS_CACHE.clear()
    assert from_stand_in == queue._filter_controls(form, objects, [])
    assert isinstance(queue._filter_form(QueryDict("severity=P1"), []), QueueFilterForm)
