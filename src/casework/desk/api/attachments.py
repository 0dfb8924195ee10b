"""Attachment endpoints: upload (multipart), list, download — with the same rules as the ticket page."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from casework.desk.access import permissions
from casework.desk.api.auth import actor
from casework.desk.api.schemas import Errors
from casework.desk.tickets import attachments
from casework.desk.tickets.models import Attachment

router = Router(tags=["attachments"])
ERRORS = {400: Errors, 403: Errors, 404: Errors, 413: Errors, 422: Errors}


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    internal: bool
    uploaded_by: str | None
    created_at: str
    url: str


def _out(request: HttpRequest, a: Attachment) -> dict[str, Any]:
    return {
        "id": a.pk, "name": a.name, "size": a.size, "content_type": a.content_type, "internal": a.internal,
        "uploaded_by": a.uploaded_by.get_username() if a.uploaded_by else None,
        "created_at": a.created_at.isoformat(),
        "url": request.build_absolute_uri(f"/api/v1/tickets/{a.ticket.ref}/attachments/{a.pk}"),
    }


@router.post("/tickets/{ref}/attachments", response={201: AttachmentOut, **ERRORS}, summary="Attach a file")
def upload(request: HttpRequest, ref: str, file: File[UploadedFile],
           internal: Form[bool] = False) -> tuple[int, dict[str, Any]]:
    """Multipart upload (`file`, optional `internal=true` for engineers). Larger than the limit: 413."""
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "attach")
    attachment = attachments.attach(ticket=ticket, actor=user, upload=file, internal=internal)
    return 201, _out(request, attachment)


@router.get("/tickets/{ref}/attachments", response={200: list[AttachmentOut], **ERRORS}, summary="List attachments")
def list_attachments(request: HttpRequest, ref: str) -> list[dict[str, Any]]:
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "view")
    return [_out(request, a) for a in attachments.visible_attachments(user, ticket).select_related("uploaded_by")]


@router.get("/tickets/{ref}/attachments/{attachment_id}", response={200: None, **ERRORS},
            summary="Download an attachment")
def download(request: HttpRequest, ref: str, attachment_id: int) -> FileResponse:
    user = actor(request)
    ticket = permissions.ticket_for(user, ref, "view")
    attachment = attachments.attachment_for(user, ticket, attachment_id)
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.name,
                        content_type=attachment.content_type or "application/octet-stream")
