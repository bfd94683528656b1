"""Loading users into the database in bulk: reading, validating and writing.

``scripts/seed.py`` is the command line around it; the tests and the
benchmark call these modules directly.
"""
