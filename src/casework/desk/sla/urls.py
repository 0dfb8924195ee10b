"""SLA policy, calendar and rating pages (filled in by the SLA work)."""

urlpatterns: list = []
