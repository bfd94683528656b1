"""A history like the one a user has after their first week, for tests of the machinery.

Tables with a cascading foreign key, a PostgreSQL enum created with its table
and one added to an existing table, a composite index, a CHECK constraint, a
column whose change makes SQLite copy a table that others refer to, a dropped
column and a renamed one. :data:`METADATA` is what the models would say at
its head.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from dbkit.testing.histories import History, new_history
from models.base import NAMING_CONVENTION

METADATA = sa.MetaData(naming_convention=NAMING_CONVENTION)

sa.Table(
    "users",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(50), nullable=False, unique=True),
    sa.Column("full_name", sa.String(200)),
)
sa.Table(
    "posts",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("headline", sa.String(200), nullable=False),
    sa.Column("status", sa.Enum("draft", "published", name="post_status"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("score", sa.Integer, nullable=False, server_default="0"),
    sa.Column("priority", sa.Enum("low", "high", name="post_priority")),
    sa.CheckConstraint("score >= 0", name="ck_posts_score_not_negative"),
    sa.Index("ix_posts_user_id_created_at", "user_id", "created_at"),
)

# Revisions that throw values away on purpose. The data check reports any
# column dropped with values, so the history lists them under changes_rows,
# as a project would.
DROPS_VALUES = {"drop users.bio"}

REVISIONS: list[tuple[str, str, str]] = [
    (
        "create users",
        """
        op.create_table(
            "users",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("username", sa.String(length=50), nullable=False),
            sa.Column("full_name", sa.String(length=100), nullable=True),
            sa.Column("bio", sa.String(length=100), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
            sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        )
        """,
        'op.drop_table("users")',
    ),
    (
        "create posts",
        """
        op.create_table(
            "posts",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("title", sa.String(length=200), nullable=False),
            sa.Column(
                "status", sa.Enum("draft", "published", name="post_status"), nullable=False
            ),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("score", sa.Integer(), server_default="0", nullable=False),
            sa.CheckConstraint("score >= 0", name=op.f("ck_posts_score_not_negative")),
            sa.ForeignKeyConstraint(
                ["user_id"], ["users.id"], name=op.f("fk_posts_user_id_users"), ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        )
        with op.batch_alter_table("posts") as batch_op:
            batch_op.create_index(
                batch_op.f("ix_posts_user_id_created_at"), ["user_id", "created_at"]
            )
        """,
        # drop_table takes the index with it; dropping it first fails on MySQL,
        # where it also serves the foreign key.
        """
        op.drop_table("posts")
        sa.Enum(name="post_status").drop(op.get_bind(), checkfirst=True)
        """,
    ),
    (
        # Changing a type makes SQLite copy users, which posts refers to.
        "widen users.full_name",
        """
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column(
                "full_name", existing_type=sa.String(length=100), type_=sa.String(length=200)
            )
        """,
        """
        with op.batch_alter_table("users") as batch_op:
            batch_op.alter_column(
                "full_name", existing_type=sa.String(length=200), type_=sa.String(length=100)
            )
        """,
    ),
    (
        "drop users.bio",
        """
        with op.batch_alter_table("users") as batch_op:
            batch_op.drop_column("bio")
        """,
        """
        with op.batch_alter_table("users") as batch_op:
            batch_op.add_column(sa.Column("bio", sa.String(length=100), nullable=True))
        """,
    ),
    (
        "rename posts.title",
        """
        with op.batch_alter_table("posts") as batch_op:
            batch_op.alter_column(
                "title", new_column_name="headline",
                existing_type=sa.String(length=200), existing_nullable=False,
            )
        """,
        """
        with op.batch_alter_table("posts") as batch_op:
            batch_op.alter_column(
                "headline", new_column_name="title",
                existing_type=sa.String(length=200), existing_nullable=False,
            )
        """,
    ),
    (
        "add posts.priority",
        """
        sa.Enum("low", "high", name="post_priority").create(op.get_bind(), checkfirst=True)
        with op.batch_alter_table("posts") as batch_op:
            batch_op.add_column(
                sa.Column("priority", sa.Enum("low", "high", name="post_priority"), nullable=True)
            )
        """,
        """
        with op.batch_alter_table("posts") as batch_op:
            batch_op.drop_column("priority")
        sa.Enum(name="post_priority").drop(op.get_bind(), checkfirst=True)
        """,
    ),
]


def app_history(directory: Path, revisions: int = len(REVISIONS)) -> History:
    """The first ``revisions`` revisions of the app's history, in ``directory``."""
    history = new_history(directory, METADATA)
    changes_rows = []
    for message, upgrade, downgrade in REVISIONS[:revisions]:
        revision = history.add(upgrade, downgrade)
        if message in DROPS_VALUES:
            changes_rows.append(revision)
    (history.location / "accepted.toml").write_text(f"[data]\nchanges_rows = {changes_rows!r}\n")
    return history
