"""Who works the desk and for whom: lines, products, organisations, profiles (role, tier, lines, readiness), shifts."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Line(models.Model):
    """A product "vertical line" (compute, network, …). Exactly one line is the fallback for unmatched tickets."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    name_zh = models.CharField(max_length=80, blank=True)
    is_fallback = models.BooleanField(default=False)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_lines"
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["is_fallback"], condition=models.Q(is_fallback=True), name="one_fallback_line")
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A cloud product customers open tickets about (ECS, OSS, RDS…); its default line is where rules start."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    default_line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="products")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    """A customer organisation; its tier feeds dispatch rules and SLA policies."""

    class Tier(models.TextChoices):
        BASIC = "basic", _("Basic")
        BUSINESS = "business", _("Business")
        ENTERPRISE = "enterprise", _("Enterprise")

    name = models.CharField(max_length=120, unique=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.BASIC)
    region = models.CharField(max_length=32, blank=True)
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer contact")
    T0 = "t0", _("Front line (T0)")
    L1 = "l1", _("L1 engineer")
    L2 = "l2", _("L2 engineer")
    LEAD = "lead", _("Lead")
    ADMIN = "admin", _("Administrator")


class Tier(models.TextChoices):
    """The support tier a ticket sits at; escalation moves it up one step."""

    T0 = "T0", _("Front line")
    L1 = "L1", _("L1")
    L2 = "L2", _("L2")


TIER_ORDER = [Tier.T0, Tier.L1, Tier.L2]
ROLE_TIER = {Role.T0: Tier.T0, Role.L1: Tier.L1, Role.L2: Tier.L2}


class Profile(models.Model):
    """Everything casework knows about a user beyond Django auth."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=16, choices=Role.choices, db_index=True)
    display_name = models.CharField(max_length=80, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="contacts"
    )
    lines = models.ManyToManyField(Line, blank=True, related_name="engineers")
    readiness = models.ManyToManyField(Product, blank=True, related_name="ready_engineers")
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="mentees"
    )
    capacity = models.PositiveSmallIntegerField(default=8, help_text=_("Open tickets this engineer can carry."))
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    language = models.CharField(max_length=8, default="en")
    # When a ticket was last given to this engineer (assigned or claimed): the round-robin tie-break. Kept here,
    # updated with each assignment, so choosing an engineer never scans the event log.
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def tier(self) -> str | None:
        return ROLE_TIER.get(self.role)  # type: ignore[call-overload]

    @property
    def is_engineer(self) -> bool:
        return self.role in (Role.T0, Role.L1, Role.L2, Role.LEAD, Role.ADMIN)


class Shift(models.Model):
    """A weekly working window of one engineer, in the engineer's time zone (end may pass midnight)."""

    engineer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shifts")
    weekday = models.PositiveSmallIntegerField(help_text=_("0 = Monday … 6 = Sunday"))
    start = models.TimeField(default=time(9))
    end = models.TimeField(default=time(18))
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")

    class Meta:
        ordering = ["engineer_id", "weekday", "start"]
        indexes = [models.Index(fields=["weekday"])]


class Leave(models.Model):
    """An exception to the roster: the engineer is off between start and end, whatever the shifts say."""

    engineer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leaves")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start"]


class ApiToken(models.Model):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
