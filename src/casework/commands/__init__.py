"""One module per ``casework`` sub-command; ``casework.cli`` wires them into a single Typer app."""
