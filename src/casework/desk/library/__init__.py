"""The case library: resolved tickets, searchable, so a new error finds the old case that solved it."""
