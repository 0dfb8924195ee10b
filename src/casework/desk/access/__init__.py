"""Who may do what: one permission module used by pages and the API alike."""
