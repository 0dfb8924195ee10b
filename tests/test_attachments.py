"""Attachments through the API: upload, list, download; internal ones never reach customers; limits refuse."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from casework.desk.access.tokens import issue_token
from casework.desk.tickets import services
from casework.desk.tickets.models import Attachment, EventKind
from desk_fixtures import make_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture
def world():
    w = make_world()
    w.ticket = services.create_ticket(organisation=w.org_a, contact=w.customer_a, product="oss",
                                      subject="403 on PutObject", description="RequestId 5F1A")
    services.claim(ticket=w.ticket, engineer=w.t0_storage)
    return w


def auth(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user)}"}


def upload(client, user, ref, name="slow.log", content=b"# Query_time: 2.5\nSELECT 1;\n", **extra):
    data = {"file": SimpleUploadedFile(name, content, content_type="text/plain"), **extra}
    return client.post(f"/api/v1/tickets/{ref}/attachments", data, **auth(user))


def test_customer_uploads_and_the_engineer_downloads_the_same_bytes(client, world):
    response = upload(client, world.customer_a, world.ticket.ref, name="C:\\logs\\mysql-slow.log")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "mysql-slow.log" and body["size"] == 28 and body["internal"] is False
    got = client.get(f"/api/v1/tickets/{world.ticket.ref}/attachments/{body['id']}", **auth(world.t0_storage))
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == b"# Query_time: 2.5\nSELECT 1;\n"
    assert 'filename="mysql-slow.log"' in got["Content-Disposition"]
    event = world.ticket.events.get(kind=EventKind.ATTACHED)
    assert event.data == {"name": "mysql-slow.log", "size": 28, "internal": False}


def test_internal_attachments_are_invisible_to_customers(client, world):
    response = upload(client, world.t0_storage, world.ticket.ref, name="console.png", internal="true")
    assert response.status_code == 201 and response.json()["internal"] is True
    attachment_id = response.json()["id"]
    assert client.get(f"/api/v1/tickets/{world.ticket.ref}/attachments", **auth(world.customer_a)).json() == []
    hidden = client.get(f"/api/v1/tickets/{world.ticket.ref}/attachments/{attachment_id}", **auth(world.customer_a))
    assert hidden.status_code == 404
    seen = client.get(f"/api/v1/tickets/{world.ticket.ref}/attachments", **auth(world.t0_storage)).json()
    assert [a["name"] for a in seen] == ["console.png"]


def test_a_customer_cannot_attach_internally_or_to_another_organisation(client, world):
    refused = upload(client, world.customer_a, world.ticket.ref, internal="true")
    assert refused.status_code == 400 and "internal" in refused.json()["errors"]
    forged = upload(client, world.customer_b, world.ticket.ref)
    assert forged.status_code == 404
    assert not Attachment.objects.exists()


def test_too_large_and_empty_files_are_refused_and_nothing_is_stored(client, world, settings):
    settings.CASEWORK_MAX_ATTACHMENT_BYTES = 1024
    big = upload(client, world.customer_a, world.ticket.ref, content=b"x" * 1025)
    assert big.status_code == 413
    assert big.json()["errors"]["file"] == ["The file is larger than 1.0\xa0KB."]
    empty = upload(client, world.customer_a, world.ticket.ref, content=b"")
    assert empty.status_code == 400 and "empty" in empty.json()["errors"]["file"][0]
    assert not Attachment.objects.exists()
    assert not world.ticket.events.filter(kind=EventKind.ATTACHED).exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
