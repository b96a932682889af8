"""Alembic environment for the results database.

Reef runs migrations in-process (``reef.results.migrate``) on a connection it has opened and
put in ``config.attributes["connection"]``, already inside a transaction.
"""

from alembic import context

from reef.results.models import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError(
        "reef's migrations run through reef.results.migrate, which passes a connection"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode recreates the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)

with context.begin_transaction():
    context.run_migrations()
