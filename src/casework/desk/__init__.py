"""The desk: the Django application that runs tickets, routing, tiers, SLAs and the case library."""
