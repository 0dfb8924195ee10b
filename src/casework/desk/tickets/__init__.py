"""Tickets, their messages and attachments, and the event log every change writes."""
