"""PostgreSQL ``timestamptz`` values read by psycopg's C loader instead of Django's Python one.

Django registers its own loader for ``timestamptz`` (``postgresql/psycopg_any.py``): a subclass of psycopg's
pure-Python loader that parses the text in Python and then replaces the time zone by the connection's. A queue page
reads a hundred timestamps (four per row): that parsing was ~7 % of the page's CPU at a million tickets. When the
session's time zone is UTC — what Django sets it to with ``USE_TZ`` and no per-database ``TIME_ZONE``, the desk's
setting — psycopg's C loader (from ``psycopg[binary]`` or ``psycopg[c]``) gives the very same values (aware, in
``datetime.timezone.utc``) about seven times faster. Django's loader class stays (``create_cursor`` reads its
``timezone``); its ``load`` becomes the C loader's. Without psycopg's C module, or in any other time zone, nothing
changes. ``tests/test_pgtime.py`` compares both loaders' values on PostgreSQL."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.backends.signals import connection_created
from django.dispatch import receiver

_LOADER: type | None = None


def loader_class() -> type | None:
    """Django's loader class with ``load`` from psycopg's C loader, or None without the C module."""
    global _LOADER
    if _LOADER is None:
        try:
            from psycopg import _cmodule
            from psycopg.types.datetime import TimestamptzLoader
        except ImportError:
            return None
        c_module = getattr(_cmodule, "_psycopg", None)
        if c_module is None:
            return None
        c_loader = c_module.TimestamptzLoader

        class CTimestamptzLoader(TimestamptzLoader):
            timezone = datetime.UTC  # what Django's loader for a UTC connection carries

            def __init__(self, oid: int, context: Any = None) -> None:
                super().__init__(oid, context)
                # An instance attribute: psycopg calls loader.load(data), which now runs in C.
                self.load = c_loader(oid, context).load  # type: ignore[method-assign]

        _LOADER = CTimestamptzLoader
    return _LOADER


@receiver(connection_created)
def use_c_timestamptz_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "postgresql" or connection.timezone is not datetime.UTC:
        return
    pg = connection.connection
    if getattr(pg, "info", None) is None or pg.info.parameter_status("TimeZone") != "UTC":
        return
    cls = loader_class()
    if cls is not None:
        pg.adapters.register_loader("timestamptz", cls)
