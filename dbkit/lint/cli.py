"""Flag migration operations that are dangerous on a live production database.

Each finding names the file, line, revision and operation, says why it is
dangerous while the app is serving traffic, and what to do instead (after
strong_migrations and squawk). Only ``upgrade()`` is checked, with the
module's functions it calls (and batch contexts they open or are handed): a
downgrade is expected to drop what its upgrade added.

Raw SQL in ``op.execute("...")`` is checked by squawk (the ``dev`` extra), on
the SQL that ``alembic upgrade head --sql`` writes for PostgreSQL; its
findings are named ``squawk:<rule>`` and acknowledged the same way.

A revision acknowledges a finding it has thought about with a comment on the
operation's line, or the line above it, that names the rule:

    op.drop_column("users", "legacy_flag")  # migration-lint: ignore[drop-column] unused since 2.3

What a project accepts is read from the ``[linter]`` table of accepted.toml,
beside env.py: ``zero_downtime = false`` (the app is stopped while migrations
run) keeps only the rules that hold even then, and ``baseline`` lists
findings accepted as they are, so that only new revisions are gated
(``--baseline`` prints the lines for the current findings).

Exit status: 0 when nothing is flagged, 1 when something is, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from dbkit.database import PROJECT_ROOT
from dbkit.lint.operations import lint
from dbkit.lint.policy import VERSIONS, Policy, accepted_file, baseline_entry
from dbkit.lint.rules import Finding, LintInputError
from dbkit.lint.squawk import SquawkUnavailable, squawk

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lint_migrations.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="revision files to check (default: every file in migrations/versions)",
    )
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=ALEMBIC_INI,
        help="the alembic.ini of the history, for squawk's offline SQL (default: the project's)",
    )
    parser.add_argument("--no-squawk", action="store_true", help="do not check raw SQL with squawk")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="print every finding as a line for [linter] baseline in accepted.toml, and exit",
    )
    args = parser.parse_args(argv)
    paths = args.files or sorted(VERSIONS.glob("*.py"))
    try:
        policy = Policy.load(accepted_file(paths))
        findings = lint(paths)
        if not args.no_squawk and (policy.zero_downtime or args.baseline):
            findings += _squawk_or_say_why_not(paths, args.config)
    except LintInputError as error:
        print(f"lint_migrations.py: {error}", file=sys.stderr)
        return 2
    if args.baseline:
        print("baseline = [")
        for finding in findings:
            print(f"    {json.dumps(baseline_entry(finding))},")
        print("]")
        return 0
    findings = [finding for finding in findings if policy.keeps(finding)]
    for finding in sorted(findings, key=lambda finding: (str(finding.path), finding.line)):
        print(finding)
    checked = f"{len(paths)} revision file{'s' if len(paths) != 1 else ''}"
    if findings:
        print(f"{len(findings)} dangerous operation(s) in {checked}.", file=sys.stderr)
        return 1
    print(f"No dangerous operations in {checked}.")
    return 0


def _squawk_or_say_why_not(paths: Sequence[Path], alembic_ini: Path) -> list[Finding]:
    executable = shutil.which("squawk")
    try:
        if executable is None:
            raise SquawkUnavailable("it is not installed (pip install -e '.[dev]')")
        return squawk(paths, alembic_ini, executable)
    except SquawkUnavailable as error:
        print(
            f"lint_migrations.py: raw SQL in op.execute was not checked with squawk: {error}",
            file=sys.stderr,
        )
        return []


if __name__ == "__main__":
    sys.exit(main())
