"""The project's database machinery, in one place.

- :mod:`dbkit.database`: settings, URLs and engines (``get_engine``, ``get_sessionmaker``);
- :mod:`dbkit.migrations`: what ``migrations/env.py`` hands to Alembic (the run
  lock and statement limits, SQLite's foreign keys, autogenerate's review);
- :mod:`dbkit.seeding`: loading data files and generated rows (``scripts/seed.py``);
- :mod:`dbkit.lint`: the migration linter (``scripts/lint_migrations.py``).

``models/`` holds the project's own code: ``Base`` and the models.
"""
