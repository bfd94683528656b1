"""The users table."""

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

USERNAME_MAX_LENGTH = 50
# RFC 5321 caps a forward path at 256 octets including the angle brackets.
EMAIL_MAX_LENGTH = 254
FULL_NAME_MAX_LENGTH = 100


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX_LENGTH), unique=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(FULL_NAME_MAX_LENGTH))
    # current_timestamp() rather than now(): MariaDB reflects now() back as
    # current_timestamp(), which autogenerate would report as drift forever.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.current_timestamp()
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r})"
