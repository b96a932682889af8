"""Where finished runs are kept: a SQL database (SQLite by default) behind ``Store``.

The store is imported on first use, not with the package: a command that only builds a
``RunFilter`` (``reef.results.query``) must not pay for the database layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reef.results.store import Store, StoreError

__all__ = ["Store", "StoreError"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from reef.results import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
