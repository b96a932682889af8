"""Format versions, apart from their schemas: a reader can tell whether a stored record is
of today's format without building the schema (``reef.meta.run`` says what each changed)."""

RUN_FORMAT_VERSION = 1
