"""Schemas: component manifests, benchmark settings, the lock and the run record.

Each schema is imported from its own module (``reef.meta.model``, ``reef.meta.run``, ...);
this package imports none of them, so that reading one kind does not build them all.
"""
