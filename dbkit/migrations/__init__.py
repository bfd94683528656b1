"""What ``migrations/env.py`` hands to Alembic: the run lock and statement limits,
SQLite's foreign keys during migrations, autogenerate's review of its own output,
and where the history lives."""
