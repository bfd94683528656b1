"""The migration linter: operations in revisions that are dangerous on a live database.

``scripts/lint_migrations.py`` is its command line (``main``); from code,
``lint(paths)`` returns a :class:`Finding` per dangerous operation.
"""

from dbkit.lint.operations import Finding, LintInputError, lint, lint_file, main

__all__ = ["Finding", "LintInputError", "lint", "lint_file", "main"]
