"""The project's models.

Importing this package registers every model on ``Base.metadata``, which is
what Alembic's autogenerate compares the database against: a model module
that is not imported here is invisible to migrations.
"""

from models.base import Base
from models.user import User

__all__ = ["Base", "User"]
