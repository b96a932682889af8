"""Where finished runs are kept: a SQL database (SQLite by default) behind ``Store``."""

from reef.results.store import Store, StoreError

__all__ = ["Store", "StoreError"]
