"""Lead pages for dispatch rules (filled in by the routing work)."""

urlpatterns: list = []
