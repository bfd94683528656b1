"""Loading rows into the database in bulk: data files (CSV, JSON, JSON Lines) or
generated rows, checked against the models and written in batches.

``scripts/seed.py`` (dbkit/seeding/cli.py) is the command line around it. From
code::

    from dbkit.seeding import Options, Source, seed
    from dbkit.seeding.inputs import open_file

    seed([open_file(path, table)], Options(dry_run=True))

The pipeline: read (sources.py) → check (columns.py, validation.py) → batch →
natural keys to ids (references.py) → duplicates (duplicates.py) → write
(writers.py); loader.py runs it for one input, run.py for a whole run.
"""

from dbkit.seeding.loader import InvalidInput, LoadResult, Options, Source
from dbkit.seeding.run import PROJECT, NotMigratedError, Project, load_all, seed

__all__ = [
    "PROJECT",
    "InvalidInput",
    "LoadResult",
    "NotMigratedError",
    "Options",
    "Project",
    "Source",
    "load_all",
    "seed",
]
