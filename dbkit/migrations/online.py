"""Operations for a table the app is using, as autogenerate writes them into revisions.

Indexes (below), foreign keys (:func:`create_foreign_key`), NOT NULL and unique
constraints, and renames by expand and contract.

An index built by ``CREATE INDEX`` blocks every write to its table until it is
built: seconds to minutes on a large table. On PostgreSQL these functions
build and drop indexes ``CONCURRENTLY`` instead, which lets writes go on; that
cannot run inside a transaction, so they run in an autocommit block (the
revision's transaction is committed first, and a new one begun after). A
concurrent build that failed part way (a duplicate key for a unique index, a
cancelled statement) leaves an INVALID index behind that still slows every
write; :func:`create_index` drops such a leftover of its own name before it
builds again, so a revision that failed can simply be run again. On
MySQL/MariaDB, where each statement commits, an index of its name that is
there already is left so, and one already gone is not dropped, for the same
reason.

On MySQL/MariaDB an index on plain columns is created and dropped with
``ALGORITHM=INPLACE, LOCK=NONE``, which InnoDB does anyway, said so that a
server that cannot refuses rather than locks; on SQLite they are the ordinary
``op.create_index`` and ``op.drop_index``. The same revision runs on every
backend.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from alembic import op
from alembic.operations.schemaobj import SchemaObjects
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

from dbkit.migrations.lock import online_step

Columns = Sequence[str | TextClause]
# MySQL and MariaDB build and drop a secondary index in place without blocking
# writes by default; said explicitly, a server that cannot do it so refuses
# the statement instead of locking the table for as long as it takes.
MYSQL_ONLINE = "ALGORITHM=INPLACE, LOCK=NONE"


P = ParamSpec("P")
R = TypeVar("R")


def _finds_its_work_done(function: Callable[P, R]) -> Callable[P, R]:
    """An online step that finds its work done when run again: what it commits does
    not keep its revision from being rolled back and run again whole after a lock
    wait (dbkit/migrations/lock.py)."""

    @functools.wraps(function)
    def step(*args: P.args, **kwargs: P.kwargs) -> R:
        context = op.get_context()
        connection = context.connection
        if context.as_sql or connection is None:
            return function(*args, **kwargs)
        with online_step(connection):
            return function(*args, **kwargs)

    return step


def _mysql_online(dialect: str, columns: Columns, schema: str | None, kw: dict[str, Any]) -> bool:
    """Whether the index is plain columns on MySQL/MariaDB, which the SQL above spells."""
    return (
        dialect in {"mysql", "mariadb"}
        and schema is None
        and not kw
        and all(isinstance(column, str) for column in columns)
    )


@_finds_its_work_done
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
    mysql = context.dialect.name in {"mysql", "mariadb"} and not context.as_sql
    if mysql and index_name in _index_names(table_name, schema):
        # Built by an earlier run of this revision that failed on a later
        # step: each DDL statement commits on its own there.
        return
    if _mysql_online(context.dialect.name, columns, schema, kw):
        preparer = context.dialect.identifier_preparer
        listed = ", ".join(preparer.quote(str(column)) for column in columns)
        op.execute(
            f"ALTER TABLE {preparer.quote(table_name)} ADD {'UNIQUE ' if unique else ''}INDEX "
            f"{preparer.quote(index_name)} ({listed}), {MYSQL_ONLINE}"
        )
        return
    if context.dialect.name != "postgresql":
        op.create_index(index_name, table_name, list(columns), unique=unique, schema=schema, **kw)
        return
    with context.autocommit_block():
        valid = None if context.as_sql else _index_is_valid(index_name, schema)
        if valid:
            # Built by an earlier run of this revision, which then gave up on a
            # later statement's lock and was rolled back: the build had committed.
            return
        if valid is False:
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


@_finds_its_work_done
def drop_index(
    index_name: str, table_name: str | None = None, *, schema: str | None = None, **kw: Any
) -> None:
    """``op.drop_index``, dropped CONCURRENTLY on PostgreSQL."""
    context = op.get_context()
    mysql = context.dialect.name in {"mysql", "mariadb"} and not context.as_sql
    if mysql and table_name and index_name not in _index_names(table_name, schema):
        return  # dropped by an earlier run of this revision that failed later
    if table_name is not None and _mysql_online(context.dialect.name, (), schema, kw):
        preparer = context.dialect.identifier_preparer
        op.execute(
            f"ALTER TABLE {preparer.quote(table_name)} DROP INDEX {preparer.quote(index_name)}, "
            f"{MYSQL_ONLINE}"
        )
        return
    if context.dialect.name != "postgresql":
        op.drop_index(index_name, table_name=table_name, schema=schema, **kw)
        return
    with context.autocommit_block():
        # IF EXISTS: a run that gave up on a later statement's lock dropped it already.
        op.drop_index(
            index_name, table_name=table_name, schema=schema, postgresql_concurrently=True,
            if_exists=True, **kw,
        )  # fmt: skip


def _index_is_valid(index_name: str, schema: str | None) -> bool | None:
    """Whether the index of this name is valid (False: left INVALID by a build that
    failed), or None if there is none."""
    found = (
        op.get_bind()
        .execute(
            text(
                "SELECT i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = :name AND n.nspname = COALESCE(:schema, current_schema())"
            ),
            {"name": index_name, "schema": schema},
        )
        .scalar()
    )
    return None if found is None else bool(found)


@_finds_its_work_done
def create_foreign_key(
    constraint_name: str | None,
    source_table: str,
    referent_table: str,
    local_cols: list[str],
    remote_cols: list[str],
    **kw: Any,
) -> None:
    """``op.create_foreign_key``, checked without blocking writes on PostgreSQL.

    Adding a foreign key checks every row while it holds a lock that blocks
    writes to both tables. On PostgreSQL the key is added ``NOT VALID`` (a brief
    lock; new rows are checked from then on), then ``VALIDATE CONSTRAINT`` checks
    the rows already there in its own transaction, under a lock that lets
    writes go on. A run that failed to validate (a row that refers to nothing)
    leaves the key NOT VALID; once the row is fixed, running the revision again
    validates it.

    MySQL/MariaDB add a key in place, without blocking writes, only unchecked
    (``foreign_key_checks`` off for the statement); there the key is added so,
    which makes every write from then on checked, and the rows already there
    are then looked up by a plain read. If one refers to nothing, the key (and
    the index it brought) is dropped again and the revision fails with one
    line naming the row; once it is fixed, the revision runs again. Elsewhere,
    and in ``--sql`` scripts (which cannot look), it is the ordinary operation
    (in batch mode, which SQLite needs to add a key).
    """
    context = op.get_context()
    if context.dialect.name in {"mysql", "mariadb"} and not context.as_sql:
        if constraint_name is None:
            raise ValueError("online.create_foreign_key needs the key's name, to check it")
        _mysql_foreign_key(
            constraint_name, source_table, referent_table, local_cols, remote_cols, kw
        )
        return
    if context.dialect.name != "postgresql":
        with op.batch_alter_table(source_table) as batch_op:
            batch_op.create_foreign_key(
                constraint_name, referent_table, local_cols, remote_cols, **kw
            )
        return
    if constraint_name is None:
        raise ValueError("online.create_foreign_key needs the key's name, to validate it")
    if context.as_sql or not _constraint_exists(constraint_name, source_table):
        op.create_foreign_key(
            constraint_name, source_table, referent_table, local_cols, remote_cols,
            postgresql_not_valid=True, **kw,
        )  # fmt: skip
    preparer = context.dialect.identifier_preparer
    with context.autocommit_block():
        op.execute(
            f"ALTER TABLE {preparer.quote(source_table)} "
            f"VALIDATE CONSTRAINT {preparer.quote(constraint_name)}"
        )


def drop_constraint(
    constraint_name: str, table_name: str, type_: str | None = None, *, schema: str | None = None
) -> None:
    """``op.drop_constraint`` (in batch mode, which SQLite needs); for a foreign key,
    what autogenerate writes to drop one from a table in use.

    A key already gone is left so: it is dropped first of all, before the index
    drops that commit on their own on PostgreSQL, so a run of the revision after
    a later statement failed finds it dropped. On MySQL/MariaDB the index of the
    key's own name, which the server made for the key when there was none it
    could use, goes with it, as it came with it.
    """
    if type_ == "foreignkey" and not op.get_context().as_sql:
        _drop_foreign_key(constraint_name, table_name, schema)
        return
    with op.batch_alter_table(table_name, schema=schema) as batch_op:
        batch_op.drop_constraint(constraint_name, type_=type_)


@_finds_its_work_done
def _drop_foreign_key(name: str, table_name: str, schema: str | None) -> None:
    dialect = op.get_context().dialect.name
    if dialect != "sqlite" and name not in _foreign_key_names(table_name, schema):
        return
    with op.batch_alter_table(table_name, schema=schema) as batch_op:
        batch_op.drop_constraint(name, type_="foreignkey")
    if dialect in {"mysql", "mariadb"} and name in _index_names(table_name, schema):
        drop_index(name, table_name, schema=schema)


def _mysql_foreign_key(
    name: str,
    source_table: str,
    referent_table: str,
    local_cols: list[str],
    remote_cols: list[str],
    kw: dict[str, Any],
) -> None:
    context = op.get_context()
    connection = op.get_bind()
    schema, referent_schema = kw.get("source_schema"), kw.get("referent_schema")
    table = sa.table(source_table, *(sa.column(column) for column in local_cols), schema=schema)
    quoted = context.dialect.identifier_preparer.format_table(table)
    indexes_before = _index_names(source_table, schema)
    if name in _foreign_key_names(source_table, schema):
        # By a run killed before it looked the rows up: the index of the key's
        # own name, if there is one, is the one the server made for it then.
        indexes_before.discard(name)
    else:
        key = SchemaObjects(context).foreign_key_constraint(
            name, source_table, referent_table, local_cols, remote_cols, **kw
        )
        add = sa.schema.AddConstraint(key).compile(dialect=context.dialect)
        op.execute("SET SESSION foreign_key_checks = 0")
        try:
            op.execute(f"{add}, {MYSQL_ONLINE}")
        finally:
            op.execute("SET SESSION foreign_key_checks = 1")
    # Every write since the key exists is checked by it; the rows from before
    # are looked up here, by a read that blocks nobody. (An alias, for a key
    # from a table to itself.)
    referent = sa.table(
        referent_table, *(sa.column(column) for column in remote_cols), schema=referent_schema
    ).alias("referent")
    refers = sa.and_(
        *(
            table.c[local] == referent.c[remote]
            for local, remote in zip(local_cols, remote_cols, strict=True)
        )
    )
    orphan = connection.execute(
        sa.select(*table.c)
        .where(*(column.is_not(None) for column in table.c))
        .where(~sa.exists().where(refers))
        .limit(1)
    ).first()
    if orphan is None:
        return
    op.execute(
        f"ALTER TABLE {quoted} DROP FOREIGN KEY "
        f"{context.dialect.identifier_preparer.quote(name)}, {MYSQL_ONLINE}"
    )
    for index in (
        _index_names(source_table, schema) - indexes_before
    ):  # the index the key brought with it
        op.execute(
            f"ALTER TABLE {quoted} DROP INDEX "
            f"{context.dialect.identifier_preparer.quote(str(index))}, {MYSQL_ONLINE}"
        )
    values = ", ".join(
        f"{column}={value!r}" for column, value in zip(local_cols, orphan, strict=True)
    )
    raise CommandError(
        f"foreign key {name}: a row of {source_table} ({values}) refers to no row of "
        f"{referent_table}; the key was not added: fix the rows and run the revision again"
    )


def _index_names(table_name: str, schema: str | None) -> set[str | None]:
    return {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table_name, schema)}


def _foreign_key_names(table_name: str, schema: str | None) -> set[str | None]:
    found = sa.inspect(op.get_bind()).get_foreign_keys(table_name, schema)
    return {key["name"] for key in found}


def _constraint_exists(name: str, table: str) -> bool:
    found = (
        op.get_bind()
        .execute(
            text(
                "SELECT 1 FROM pg_constraint WHERE conname = :name "
                "AND conrelid = to_regclass(:table)"
            ),
            {"name": name, "table": table},
        )
        .scalar()
    )
    return found is not None


def alter_column(table_name: str, column_name: str, **kw: Any) -> None:
    """``op.alter_column``; setting NOT NULL without a long write block on PostgreSQL.

    ``SET NOT NULL`` scans the whole table under a lock that blocks reads and
    writes. On PostgreSQL (12 and later) a valid ``CHECK (column IS NOT NULL)``
    spares that scan: the check is added ``NOT VALID`` (a brief lock), validated
    in its own transaction (writes go on), the column set NOT NULL, and the
    check dropped. A run that met a NULL leaves the NOT VALID check (new rows
    obey it); once the rows are filled, the revision runs again. Any other
    change, and every change elsewhere, is the ordinary ``alter_column`` in
    batch mode.
    """
    context = op.get_context()
    only_not_null = kw.get("nullable") is False and not set(kw) - {
        "nullable", "existing_type", "existing_server_default", "existing_nullable",
        "existing_comment", "schema",
    }  # fmt: skip
    if context.dialect.name != "postgresql" or not only_not_null:
        schema = kw.pop("schema", None)
        with op.batch_alter_table(table_name, schema=schema) as batch_op:
            batch_op.alter_column(column_name, **kw)
        return
    _not_null(table_name, column_name)


@_finds_its_work_done
def _not_null(table_name: str, column_name: str) -> None:
    context = op.get_context()
    preparer = context.dialect.identifier_preparer
    table, column = preparer.quote(table_name), preparer.quote(column_name)
    check_name = f"{table_name}_{column_name}_not_null"
    check = preparer.quote(check_name)
    if context.as_sql or not _constraint_exists(check_name, table_name):
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID"
        )
    with context.autocommit_block():
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}")
    op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL")
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {check}")


@_finds_its_work_done
def create_unique_constraint(
    constraint_name: str | None, table_name: str, columns: list[str], **kw: Any
) -> None:
    """``op.create_unique_constraint``, its index built CONCURRENTLY on PostgreSQL.

    Adding a unique constraint builds its index while blocking writes. On
    PostgreSQL the unique index is built concurrently first (see
    :func:`create_index`), then the constraint takes it over (``ADD CONSTRAINT
    ... UNIQUE USING INDEX``, a brief lock). Elsewhere it is the ordinary
    operation, in batch mode.
    """
    context = op.get_context()
    if constraint_name is None:
        raise ValueError("online.create_unique_constraint needs the constraint's name")
    if _mysql_online(context.dialect.name, columns, None, kw):
        # A unique constraint is a unique index there: built in place, not blocking writes.
        create_index(constraint_name, table_name, columns, unique=True)
        return
    if context.dialect.name != "postgresql":
        with op.batch_alter_table(table_name) as batch_op:
            batch_op.create_unique_constraint(constraint_name, columns, **kw)
        return
    if not context.as_sql and _constraint_exists(constraint_name, table_name):
        return  # a run that went this far already
    create_index(constraint_name, table_name, columns, unique=True)
    preparer = context.dialect.identifier_preparer
    name = preparer.quote(constraint_name)
    op.execute(
        f"ALTER TABLE {preparer.quote(table_name)} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}"
    )


# Renames by expand and contract ------------------------------------------------------------
#
# Renaming a column the app uses breaks every instance still running the old
# code. Instead, over two deploys: *expand* adds the new column beside the old
# one and keeps the two in step both ways (a trigger: whichever the writer set
# is copied to the other), while instances of both versions run; the rows
# already there are copied (here for a small table, else with
# scripts/backfill.py); the new version reads and writes the new column. A
# type change goes the same way, to a column of the new type.
# *Contract*, once no old instance runs, drops the trigger and the old column.


def expand_rename_column(
    table_name: str,
    old: str,
    new: str,
    type_: Any,
    *,
    backfill: bool = True,
    using: str | None = None,
) -> None:
    """Add ``new`` beside ``old``, kept in step with it both ways; copy the rows there
    (``backfill=False`` for a large table: then run scripts/backfill.py).

    A type change is the same move, to a column of the new type: the triggers
    convert as the database converts on assignment, and ``using`` is the SQL
    that converts the rows already there when a plain copy would not, e.g.
    ``"CAST(amount AS INTEGER)"`` (the default copies ``old`` as it is).
    """
    op.add_column(table_name, sa.Column(new, type_, nullable=True))
    create_sync(table_name, old, new)
    if backfill:
        preparer = op.get_context().dialect.identifier_preparer
        table, old_, new_ = (preparer.quote(name) for name in (table_name, old, new))
        op.execute(
            f"UPDATE {table} SET {new_} = {using or old_} WHERE {new_} IS NULL"
        )  # migration-lint: ignore[backfill-in-migration] only where unset


def contract_rename_column(table_name: str, old: str, new: str) -> None:
    """Drop the step-keeping and the old column, once no instance uses it."""
    drop_sync(table_name, old, new)
    with op.batch_alter_table(table_name) as batch_op:
        batch_op.drop_column(old)


def create_sync(table_name: str, old: str, new: str) -> None:
    """Triggers that copy whichever of ``old`` and ``new`` a write set to the other."""
    context = op.get_context()
    preparer = context.dialect.identifier_preparer
    table, old_, new_ = (preparer.quote(name) for name in (table_name, old, new))
    name = _sync_name(table_name, old, new)
    dialect = context.dialect.name
    if dialect == "postgresql":
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'INSERT' THEN "
            f"IF NEW.{new_} IS NULL THEN NEW.{new_} := NEW.{old_}; "
            f"ELSIF NEW.{old_} IS NULL THEN NEW.{old_} := NEW.{new_}; END IF; "
            f"ELSIF NEW.{new_} IS DISTINCT FROM OLD.{new_} THEN NEW.{old_} := NEW.{new_}; "
            f"ELSIF NEW.{old_} IS DISTINCT FROM OLD.{old_} THEN NEW.{new_} := NEW.{old_}; "
            f"END IF; RETURN NEW; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
    elif dialect in {"mysql", "mariadb"}:
        op.execute(
            f"CREATE TRIGGER {name}_insert BEFORE INSERT ON {table} FOR EACH ROW BEGIN "
            f"IF NEW.{new_} IS NULL THEN SET NEW.{new_} = NEW.{old_}; "
            f"ELSEIF NEW.{old_} IS NULL THEN SET NEW.{old_} = NEW.{new_}; END IF; END"
        )
        op.execute(
            f"CREATE TRIGGER {name}_update BEFORE UPDATE ON {table} FOR EACH ROW BEGIN "
            f"IF NOT (NEW.{new_} <=> OLD.{new_}) THEN SET NEW.{old_} = NEW.{new_}; "
            f"ELSEIF NOT (NEW.{old_} <=> OLD.{old_}) THEN SET NEW.{new_} = NEW.{old_}; "
            f"END IF; END"
        )
    else:  # SQLite: no BEFORE trigger may change the row; AFTER ones update it
        op.execute(
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} FOR EACH ROW BEGIN "
            f"UPDATE {table} SET {new_} = COALESCE(NEW.{new_}, NEW.{old_}), "
            f"{old_} = COALESCE(NEW.{old_}, NEW.{new_}) WHERE rowid = NEW.rowid; END"
        )
        op.execute(
            f"CREATE TRIGGER {name}_new AFTER UPDATE OF {new_} ON {table} FOR EACH ROW "
            f"WHEN NEW.{new_} IS NOT OLD.{new_} BEGIN "
            f"UPDATE {table} SET {old_} = NEW.{new_} WHERE rowid = NEW.rowid; END"
        )
        op.execute(
            f"CREATE TRIGGER {name}_old AFTER UPDATE OF {old_} ON {table} FOR EACH ROW "
            f"WHEN NEW.{old_} IS NOT OLD.{old_} AND NEW.{new_} IS OLD.{new_} BEGIN "
            f"UPDATE {table} SET {new_} = NEW.{old_} WHERE rowid = NEW.rowid; END"
        )


def drop_sync(table_name: str, old: str, new: str) -> None:
    context = op.get_context()
    name = _sync_name(table_name, old, new)
    dialect = context.dialect.name
    if dialect == "postgresql":
        table = context.dialect.identifier_preparer.quote(table_name)
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    elif dialect in {"mysql", "mariadb"}:
        for suffix in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}_{suffix}")
    else:
        for suffix in ("insert", "new", "old"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}_{suffix}")


def _sync_name(table_name: str, old: str, new: str) -> str:
    return f"sync_{table_name}_{old}_{new}"[:50]
