"""Versioned dispatch rule sets.

A rule set is a snapshot: the ordered list of rules lives in ``rules`` (JSON), so publishing, simulating and
rolling back are about whole versions, and every routing event can name the version and the rule it used.
Exactly one version is published at a time; drafts are edited by leads and replayed before they go live.

Rule format (also the YAML format, see ``routing/yaml_io.py``)::

    {"name": "oss-403", "enabled": true,
     "when": {"products": ["oss"], "categories": [], "keywords": ["403", "AccessDenied"], "regex": "",
              "org_tiers": [], "severities": [], "languages": []},
     "then": {"line": "storage", "severity": "", "tags": ["acl"]}}
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleSet(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    version = models.PositiveIntegerField(unique=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    rules = models.JSONField(default=list)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["state"], condition=models.Q(state="published"), name="one_published_ruleset")
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.state})"
