"""``event_written`` fires inside the transaction right after a ticket event is stored.

The SLA clock (and anything else that derives state from the log) listens here instead of being called from
every service function, so a new event kind cannot forget to tell it.
"""

from django.dispatch import Signal

event_written = Signal()  # kwargs: event (TicketEvent)
