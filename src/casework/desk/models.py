"""All desk models, one module per domain; Django finds them here."""

from casework.desk.library.models import CaseTerm
from casework.desk.routing.models import RuleSet
from casework.desk.sla.models import BusinessCalendar, Notification, Rating, SLAPolicy, TicketSLA
from casework.desk.team.models import ApiToken, Leave, Line, Organisation, Product, Profile, Shift
from casework.desk.tickets.models import Attachment, CaseSummary, Message, Ticket, TicketEvent

__all__ = [
    "ApiToken",
    "Attachment",
    "BusinessCalendar",
    "CaseSummary",
    "CaseTerm",
    "Leave",
    "Line",
    "Message",
    "Notification",
    "Organisation",
    "Product",
    "Profile",
    "Rating",
    "RuleSet",
    "SLAPolicy",
    "Shift",
    "Ticket",
    "TicketEvent",
    "TicketSLA",
]
