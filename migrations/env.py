"""Alembic's entry point: runs the revisions in versions/ against the database.

Alembic's generic env.py, with the project's machinery handed to it from
dbkit.migrations.environment: which database (MIGRATION_DATABASE_URL, else
DATABASE_URL or .env), the run lock and statement limits, SQLite's foreign
keys, autogenerate's review, and one-line errors. See docs/configuration.md.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from dbkit.migrations import environment
from models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# What autogenerate compares the database with. A test may hand in another
# MetaData; None counts as not given (pytest-alembic hands in None).
target_metadata = config.attributes.get("target_metadata") or Base.metadata


def run_migrations_offline() -> None:
    """Write the SQL instead of running it (``alembic upgrade head --sql``): no database needed."""
    url = environment.migration_database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **environment.options(context, url.get_backend_name()),
    )
    environment.prepare(context)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online(connection: Connection) -> None:
    """Run the revisions on ``connection``, which holds the run lock."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        **environment.options(context, connection.dialect.name),
    )
    environment.prepare(context)
    with context.begin_transaction():
        context.run_migrations()


environment.run(context, offline=run_migrations_offline, online=run_migrations_online)
