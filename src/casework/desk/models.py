"""All desk models, one module per domain; Django finds them here."""

from casework.desk.routing.models import RuleSet
from casework.desk.team.models import ApiToken, Leave, Line, Organisation, Product, Profile, Shift
from casework.desk.tickets.models import Attachment, CaseSummary, Message, Ticket, TicketEvent

__all__ = [
    "ApiToken",
    "Attachment",
    "CaseSummary",
    "Leave",
    "Line",
    "Message",
    "Organisation",
    "Product",
    "Profile",
    "RuleSet",
    "Shift",
    "Ticket",
    "TicketEvent",
]
from casework.desk.sla.models import BusinessCalendar, Notification, Rating, SLAPolicy, TicketSLA  # noqa: E402,F401
from casework.desk.library.models import CaseTerm  # noqa: E402,F401
