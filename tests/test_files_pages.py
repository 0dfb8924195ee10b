"""Attachments on the pages: a customer attaches the WinMTR report from the seed in the portal, the engineer
diagnoses it from the ticket page and gets the verdict with a reply to paste; customers cannot diagnose."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from casework.desk.tickets import services
from casework.desk.tickets.models import Attachment
from desk_fixtures import make_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
DATA = Path(__file__).parent / "data"


@pytest.fixture
def world():
    w = make_world()
    w.ticket = services.create_ticket(organisation=w.org_a, contact=w.customer_a, product="oss",
                                      subject="Slow from mainland China", description="WinMTR attached")
    return w


def test_customer_attaches_and_engineer_diagnoses_the_seed_winmtr(client, world):
    client.force_login(world.customer_a)
    seed = (DATA / "mtr" / "seed_winmtr.txt").read_bytes()
    sent = client.post(reverse("files-upload", args=[world.ticket.ref]),
                       {"file": SimpleUploadedFile("winmtr.txt", seed)})
    assert sent.status_code == 302 and sent["Location"] == reverse("portal-ticket", args=[world.ticket.ref])
    attachment = Attachment.objects.get(ticket=world.ticket)
    panel = client.get(reverse("files-panel", args=[world.ticket.ref])).content.decode()
    assert "winmtr.txt" in panel and "Diagnose" not in panel  # customers see the file, not the tools
    assert client.get(reverse("files-diagnose", args=[world.ticket.ref, attachment.pk])).status_code in (403, 404)

    client.force_login(world.t0_storage)
    page = client.get(reverse("files-diagnose", args=[world.ticket.ref, attachment.pk])).content.decode()
    assert "mtr.loss-from-hop" in page and "220.191.200.53" in page and "mtr.latency-jump" in page
    assert 'id="diagnosis-reply"' in page


def test_the_diagnosis_is_in_chinese_for_a_chinese_page(client, world):
    client.force_login(world.t0_storage)
    client.post(reverse("files-upload", args=[world.ticket.ref]),
                {"file": SimpleUploadedFile("httpstat.txt", (DATA / "http" / "seed_httpstat.txt").read_bytes())})
    attachment = Attachment.objects.get(ticket=world.ticket)
    page = client.get(reverse("files-diagnose", args=[world.ticket.ref, attachment.pk]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "http.slow-tls" in page and "TLS 握手" in page


def test_a_file_no_analyzer_reads_gets_a_one_line_error(client, world):
    client.force_login(world.t0_storage)
    client.post(reverse("files-upload", args=[world.ticket.ref]),
                {"file": SimpleUploadedFile("notes.txt", b"just some words\n")})
    attachment = Attachment.objects.get(ticket=world.ticket)
    page = client.get(reverse("files-diagnose", args=[world.ticket.ref, attachment.pk])).content.decode()
    assert "notes.txt: not an mtr report, HTTP output or slow log that casework reads" in page
