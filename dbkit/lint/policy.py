"""What a project accepts: the ``[linter]`` table of accepted.toml, beside env.py."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dbkit.database import PROJECT_ROOT
from dbkit.lint.rules import Finding, LintInputError, shown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VERSIONS = PROJECT_ROOT / "migrations" / "versions"
# Rules that hold even with the app stopped: the others protect a live app.
ALWAYS = {"add-not-null-column"}


@dataclass(frozen=True)
class Policy:
    """The ``[linter]`` table of accepted.toml."""

    zero_downtime: bool = True
    baseline: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path) -> Policy:
        if not path.is_file():
            return cls()
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("linter", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise LintInputError(f"{shown(path)}: {error}") from None
        unknown = set(table) - {"zero_downtime", "baseline"}
        if unknown:
            raise LintInputError(f"{shown(path)}: [linter] has no setting {sorted(unknown)[0]!r}")
        zero_downtime = table.get("zero_downtime", True)
        baseline = table.get("baseline", [])
        if not isinstance(zero_downtime, bool):
            raise LintInputError(f"{shown(path)}: [linter] zero_downtime must be true or false")
        if not isinstance(baseline, list) or not all(isinstance(b, str) for b in baseline):
            raise LintInputError(f"{shown(path)}: [linter] baseline must be a list of strings")
        return cls(zero_downtime, frozenset(baseline))

    def keeps(self, finding: Finding) -> bool:
        if not self.zero_downtime and finding.rule not in ALWAYS:
            return False
        return baseline_entry(finding) not in self.baseline


def baseline_entry(finding: Finding) -> str:
    """How a finding is listed in ``[linter] baseline``: stable when lines move."""
    return f"{finding.revision}: {finding.rule}: {finding.operation}"


def accepted_file(paths: Sequence[Path]) -> Path:
    """accepted.toml beside env.py: one level above the revision files' versions/ folder."""
    folder = paths[0].resolve().parent if paths else VERSIONS
    return folder.parent / "accepted.toml"
