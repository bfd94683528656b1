"""The declarative base that every model inherits from."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Without a naming convention each backend invents its own constraint names
# (PostgreSQL "users_email_key", MySQL "email", SQLite none at all), and a
# migration that drops a constraint then only works on the backend it was
# generated on.
#
# No pattern uses %(constraint_name)s. SQLAlchemy applies a convention to a
# name written out in full only when the pattern contains that token, and
# Alembic hands these patterns to every op.* call in a revision: with it,
# op.drop_constraint("status", "runs") in a revision written before the
# convention would drop "ck_runs_status" instead. So a name you write is
# always used as written, and the convention only names what you leave
# unnamed. CHECK constraints have no column list to build a name from:
# name them in full (ck_<table>_<what>); a test fails on one left unnamed.
#
# Alembic also names by this convention what a revision leaves unnamed. A
# project adopting an existing history therefore sets it to the convention
# that history was written under ({} if its revisions left names to the
# backend, such as PostgreSQL's users_email_key), so that a fresh database
# gets the names production has and a revision that drops one by name works.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
