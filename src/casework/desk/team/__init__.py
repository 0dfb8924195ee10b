"""People and product lines: organisations, engineers with tiers, lines, products, shifts, tokens."""
