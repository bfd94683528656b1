"""The project's own fixtures go here.

The database fixtures (``session``, ``connection``, ``engine``,
``database_url``, ``empty_database_url``, ``migrated``, ``migration_steps``)
and the markers ``backends`` and ``no_database`` come from the project's
pytest plugin, dbkit/testing/plugin.py.
"""
