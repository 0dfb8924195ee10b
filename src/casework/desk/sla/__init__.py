"""SLA policies, business-hours clocks, breach detection and satisfaction ratings."""
