"""Load seeds/ (or one file, or generated rows) into the database.

    python scripts/seed.py --help

The command lives in dbkit.seeding.cli; this file runs it from a checkout.
"""

import sys

from dbkit.seeding.cli import main

if __name__ == "__main__":
    sys.exit(main())
