"""The migration linter: operations in revisions that are dangerous on a live database.

``scripts/lint_migrations.py`` is its command line (:func:`main`); from code,
``lint(paths)`` returns a :class:`Finding` per dangerous operation. The rules
are in ``rules.py``, reading revisions in ``operations.py``, raw SQL through
squawk in ``squawk.py``, and what a project accepts in ``policy.py``.
"""

from dbkit.lint.cli import main
from dbkit.lint.operations import lint, lint_file
from dbkit.lint.rules import Finding, LintInputError

__all__ = ["Finding", "LintInputError", "lint", "lint_file", "main"]
