"""An inverted index of resolved cases, kept in an ordinary table so it works the same on SQLite and PostgreSQL
and a search is one indexed, grouped query whatever the number of tickets."""

from __future__ import annotations

from django.db import models

from casework.desk.tickets.models import Ticket


class CaseTerm(models.Model):
    """One search term of one resolved ticket, with how often it occurs there."""

    term = models.CharField(max_length=48)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="case_terms")
    weight = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "ticket"], name="case_term_unique")]
        indexes = [models.Index(fields=["ticket"], name="case_term_ticket")]
