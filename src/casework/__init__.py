"""casework: a support desk for cloud technical-support teams, with the diagnostics they run every day."""

__version__ = "0.1.0"
