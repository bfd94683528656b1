"""Flag migration operations that are dangerous on a live production database.

    python scripts/lint_migrations.py --help

The linter lives in dbkit.lint; this file runs it from a checkout.
"""

import sys

from dbkit.lint import main

if __name__ == "__main__":
    sys.exit(main())
