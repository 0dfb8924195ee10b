"""The one error type desk services raise for bad input; pages show it next to fields, the API as JSON."""

from __future__ import annotations


class DeskError(ValueError):
    """A refused change. ``errors`` maps a field name (or ``"__all__"``) to messages; nothing was changed."""

    def __init__(self, errors: dict[str, list[str]] | str, *, status: int = 400) -> None:
        if isinstance(errors, str):
            errors = {"__all__": [errors]}
        self.errors = {k: [str(m) for m in v] for k, v in errors.items()}
        self.status = status
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


class NotAllowed(DeskError):
    """The actor may not do this (403); or, for objects they may not even see, it does not exist (404)."""

    def __init__(self, message: str = "not allowed", *, status: int = 403) -> None:
        super().__init__({"__all__": [message]}, status=status)
