"""Fill a column in resumable batches, outside any migration.

    python scripts/backfill.py TABLE --set "COLUMN = SQL EXPRESSION" [--where SQL]

The command lives in dbkit.migrations.backfill; this file runs it from a checkout.
"""

import sys

from dbkit.migrations.backfill import main

if __name__ == "__main__":
    sys.exit(main())
