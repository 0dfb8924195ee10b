"""Attachments: the logs, captures and screenshots customers and engineers add to a ticket.

Like every change to a ticket, adding one writes its event in the same transaction. An internal attachment
(an engineer's capture, a console export) follows the internal-note rule: customers never see it.
"""

from __future__ import annotations

import mimetypes
import os
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.desk.access import permissions
from casework.desk.errors import DeskError
from casework.desk.tickets import events
from casework.desk.tickets.models import Attachment, Status, Ticket

MAX_NAME = 255


def clean_name(name: str) -> str:
    """The file's base name only (a browser or client may send a path), without control characters."""
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable())
    return base[:MAX_NAME]


def attach(*, ticket: Ticket, actor: Any, upload: UploadedFile, internal: bool = False,
           at: datetime | None = None) -> Attachment:
    """Store ``upload`` on the ticket; refused (nothing stored) when it is empty, too large or misnamed."""
    at = at or timezone.now()
    errors: dict[str, list[str]] = {}
    name = clean_name(upload.name or "")
    limit = settings.CASEWORK_MAX_ATTACHMENT_BYTES
    if not name:
        errors["file"] = [_("The file has no name.")]
    elif upload.size == 0:
        errors["file"] = [_("The file is empty.")]
    elif upload.size > limit:
        errors["file"] = [_("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)}]
    if internal and not permissions.can(actor, "view_internal", ticket):
        errors["internal"] = [_("Only engineers can add internal attachments.")]
    if ticket.status == Status.CLOSED:
        errors.setdefault("__all__", []).append(_("The ticket is closed; open a new one."))
    if errors:
        raise DeskError(errors, status=413 if "file" in errors and upload.size > limit else 400)
    content_type = (getattr(upload, "content_type", "") or mimetypes.guess_type(name)[0] or
                    "application/octet-stream")[:100]
    attachment = Attachment(ticket=ticket, name=name, size=upload.size, content_type=content_type,
                            internal=internal, uploaded_by=actor)
    attachment.file.save(name, upload, save=False)  # the storage picks a free name; the original is kept in .name
    try:
        with transaction.atomic():
            attachment.save()
            events.attached(ticket=ticket, at=at, actor=actor, name=name, size=upload.size, internal=internal)
    except BaseException:
        attachment.file.delete(save=False)  # no row, no file: a failed upload leaves nothing behind
        raise
    return attachment


def visible_attachments(user: Any, ticket: Ticket):  # -> QuerySet[Attachment]
    qs = ticket.attachments.order_by("created_at", "id")
    if not permissions.can(user, "view_internal", ticket):
        qs = qs.filter(internal=False)
    return qs


def attachment_for(user: Any, ticket: Ticket, attachment_id: int) -> Attachment:
    """An attachment the user may download; 404 for internal ones when they may not see internal notes."""
    attachment = visible_attachments(user, ticket).filter(pk=attachment_id).first()
    if attachment is None:
        raise permissions.NotAllowed(_("No such attachment."), status=404)
    return attachment
