"""Operations for a table the app is using, as autogenerate writes them into revisions.

An index built by ``CREATE INDEX`` blocks every write to its table until it is
built: seconds to minutes on a large table. On PostgreSQL these functions
build and drop indexes ``CONCURRENTLY`` instead, which lets writes go on; that
cannot run inside a transaction, so they run in an autocommit block (the
revision's transaction is committed first, and a new one begun after). A
concurrent build that failed part way (a duplicate key for a unique index, a
cancelled statement) leaves an INVALID index behind that still slows every
write; :func:`create_index` drops such a leftover of its own name before it
builds again, so a revision that failed can simply be run again.

On SQLite and MySQL/MariaDB they are the ordinary ``op.create_index`` and
``op.drop_index`` (InnoDB adds and drops a secondary index without blocking
writes by itself), so the same revision runs on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alembic import op
from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

Columns = Sequence[str | TextClause]


def create_index(
    index_name: str,
    table_name: str,
    columns: Columns,
    *,
    unique: bool = False,
    schema: str | None = None,
    **kw: Any,
) -> None:
    """``op.create_index``, built CONCURRENTLY on PostgreSQL."""
    context = op.get_context()
    if context.dialect.name != "postgresql":
        op.create_index(index_name, table_name, list(columns), unique=unique, schema=schema, **kw)
        return
    with context.autocommit_block():
        if not context.as_sql and _is_invalid(index_name, schema):
            op.drop_index(index_name, schema=schema, postgresql_concurrently=True)
        op.create_index(
            index_name,
            table_name,
            list(columns),
            unique=unique,
            schema=schema,
            postgresql_concurrently=True,
            **kw,
        )


def drop_index(
    index_name: str, table_name: str | None = None, *, schema: str | None = None, **kw: Any
) -> None:
    """``op.drop_index``, dropped CONCURRENTLY on PostgreSQL."""
    context = op.get_context()
    if context.dialect.name != "postgresql":
        op.drop_index(index_name, table_name=table_name, schema=schema, **kw)
        return
    with context.autocommit_block():
        op.drop_index(
            index_name, table_name=table_name, schema=schema, postgresql_concurrently=True, **kw
        )


def _is_invalid(index_name: str, schema: str | None) -> bool:
    """Whether an index of this name exists, left INVALID by a build that failed."""
    found = (
        op.get_bind()
        .execute(
            text(
                "SELECT NOT i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = :name AND n.nspname = COALESCE(:schema, current_schema())"
            ),
            {"name": index_name, "schema": schema},
        )
        .scalar()
    )
    return bool(found)
