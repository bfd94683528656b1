"""A schema of the tests' own for the seeding tests: the kinds of columns, keys and
rules an app grows, none of them the example's.

authors has a unique natural key with a ``@validates`` rule (which
normalizes it), an enum, a boolean with a Python default, a date, a decimal,
JSON and a server default; posts refers to authors twice (author, reviewer),
is unique per author and slug and has a long text; tags has a UUID and a
name unique without a rule; topics refer to a parent topic.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from models.base import NAMING_CONVENTION


class Shop(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Author(Shop):
    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(Enum("staff", "guest", name="author_kind"))
    active: Mapped[bool] = mapped_column(default=True)
    joined: Mapped[date]
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.current_timestamp()
    )

    @validates("handle")
    def _check_handle(self, key: str, handle: str) -> str:
        handle = unicodedata.normalize("NFC", handle)
        if handle != handle.lower():
            raise ValueError("must be lower case")
        return handle


class Post(Shop):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("author_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"))
    slug: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    views: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str | None] = mapped_column(Text)


class Tag(Shop):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    code: Mapped[uuid.UUID | None] = mapped_column(unique=True)


class Topic(Shop):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))


MAPPERS = list(Shop.registry.mappers)
