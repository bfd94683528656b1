"""The template: generating a renamed project, its answers, updates, and that a
generated project passes its own checks, for every database choice.

These tests belong to the template and are not copied into new projects.
They are slow (each generated project gets its own virtual environment), so
`pytest` leaves them out; `.ci/run` runs them with `pytest .copier/tests`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update

from dbkit.database import PROJECT_ROOT
from dbkit.testing.scratch import scratch_database
from dbkit.tests.markdown_links import broken_links

SERVERS = {
    "postgresql": os.environ.get("TEMPLATE_TEST_POSTGRESQL_URL"),
    "mysql": os.environ.get("TEMPLATE_TEST_MYSQL_URL"),
}
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Template Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """The template as it is in this checkout (committed or not), as a fresh git repository."""
    source = tmp_path / "template"
    tracked = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=PROJECT_ROOT)
    for name in filter(None, tracked.split("\0")):
        if (PROJECT_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / name, source / name)
    git("init", "-q", "-b", "main", cwd=source)
    git("add", "-A", cwd=source)
    git("commit", "-q", "-m", "template A", cwd=source)
    return source


def generate(template: Path, destination: Path, **answers: str) -> Path:
    run_copy(
        str(template),
        destination,
        data={"project_name": "acme_db", **answers},
        defaults=True,
        unsafe=True,  # the --trust of the command line: runs .copier/personalize.py
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


def test_a_renamed_project_with_the_same_layout(template: Path, tmp_path: Path) -> None:
    project = generate(
        template, tmp_path / "acme", description="Acme's user database.", author="Wile E. Coyote"
    )

    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "acme_db"' in pyproject
    assert 'description = "Acme\'s user database."' in pyproject
    assert 'authors = [{ name = "Wile E. Coyote" }]' in pyproject
    readme = (project / "README.md").read_text()
    assert readme.startswith("# acme_db\n")
    assert "Acme's user database." in readme
    assert "Start a new project" not in readme
    assert "## Update from the template" in readme

    kept = ["models", "dbkit", "migrations", "alembic.ini", "scripts", "tests", ".env.example"]
    kept += ["docs/seeding.md", "docs/safety-net.md"]
    kept += [".github/workflows/ci.yml", ".pre-commit-config.yaml", "compose.yaml"]
    for kept_file in kept:
        assert (project / kept_file).exists(), kept_file
    answers_template = "{{ _copier_conf.answers_file }}.jinja"
    left_out = ["copier.yml", ".copier", ".ci", "dbkit/tests/real_histories", answers_template]
    left_out += ["docs/benchmarks.md", "docs/real-histories.md"]
    for left_out_file in left_out:
        assert not (project / left_out_file).exists(), left_out_file
    for page in (project / "docs").glob("*.md"):
        assert "template-only" not in page.read_text(), page.name
    # The README and docs/ link only to what the new project has.
    pages = [project / "README.md", *(project / "docs").glob("*.md")]
    assert [broken for page in pages for broken in broken_links(page)] == []
    assert sorted(p.name for p in (project / "migrations/versions").glob("*.py")) == sorted(
        p.name for p in (PROJECT_ROOT / "migrations/versions").glob("*.py")
    )

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "acme_db"
    assert answers["_commit"]
    assert "project_slug" not in answers


@pytest.mark.parametrize(
    ("database", "active"),
    [
        ("sqlite", None),
        ("postgresql", "DATABASE_URL=postgresql+psycopg://app:app@127.0.0.1:5432/app"),
        ("mysql", "DATABASE_URL=mysql+pymysql://app:app@127.0.0.1:3306/app?charset=utf8mb4"),
    ],
)
def test_the_database_answer_picks_the_default_url(
    template: Path, tmp_path: Path, database: str, active: str | None
) -> None:
    project = generate(template, tmp_path / "acme", database=database)
    lines = (project / ".env.example").read_text().splitlines()
    assert [line for line in lines if line.startswith("DATABASE_URL=")] == (
        [active] if active else []
    )


@pytest.mark.parametrize("name", ["1password", "acme db", "acme-", "ünïcode"])
def test_an_invalid_project_name_is_refused(template: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="distribution name"):
        generate(template, tmp_path / "bad", project_name=name)
    assert not (tmp_path / "bad" / "pyproject.toml").exists()


def test_an_update_brings_template_changes_and_keeps_project_edits(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "acme")
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "generated", cwd=project)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Our own notes\n\nKept across updates.\n")
    git("commit", "-q", "-am", "our edit", cwd=project)
    first_commit = yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"]

    env_example = template / ".env.example"
    env_example.write_text(
        env_example.read_text() + "\n# A setting added by the template later.\n# NEW_SETTING=1\n"
    )
    git("commit", "-q", "-am", "template B", cwd=template)

    run_update(project, defaults=True, unsafe=True, vcs_ref="HEAD", overwrite=True, quiet=True)

    assert "# NEW_SETTING=1" in (project / ".env.example").read_text()
    assert "Kept across updates." in readme.read_text()
    assert readme.read_text().startswith("# acme_db\n")
    assert 'name = "acme_db"' in (project / "pyproject.toml").read_text()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] != first_commit
    assert "<<<<<<<" not in readme.read_text()


def run_in(project: Path, python: Path, *args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(python), *args], cwd=project, env=env, capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, (
        f"{' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )


def new_environment(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A virtual environment of its own, and this process's environment without the
    database settings (and the virtual environment) that belong to the template's run."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "MIGRATION_DATABASE_URL", "TEST_DATABASE_URL", "VIRTUAL_ENV"}
    }
    return environment / "bin" / "python", env


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"])
def test_a_generated_project_passes_its_own_checks(
    template: Path, tmp_path: Path, database: str
) -> None:
    """The README's commands, in the new project, in a virtual environment of its own."""
    server = None
    if database != "sqlite":
        server = SERVERS[database]
        if server is None:
            pytest.skip(f"set TEMPLATE_TEST_{database.upper()}_URL to a {database} server")
    project = generate(template, tmp_path / "acme", database=database)
    python, env = new_environment(tmp_path)
    # With the sqlite answer, also the dev tools: the new project's own CI runs them.
    extras = {"sqlite": "test,dev", "postgresql": "test,postgres", "mysql": "test,mysql"}[database]
    run_in(project, python, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]", env=env)
    if database == "sqlite":
        run_in(project, python, "-m", "ruff", "check", ".", env=env)
        run_in(project, python, "-m", "ruff", "format", "--check", ".", env=env)
        run_in(project, python, "-m", "mypy", env=env)
        run_in(project, python, "scripts/lint_migrations.py", env=env)

    with scratch_database(server, tmp_path) as url:
        if server is not None:
            env = {
                **env,
                "DATABASE_URL": url.render_as_string(hide_password=False),
                "TEST_DATABASE_URL": server,
            }
        run_in(project, python, "-m", "alembic", "upgrade", "head", env=env)
        run_in(project, python, "scripts/seed.py", env=env)
        run_in(project, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", env=env)
    assert sys.executable != str(python)


# The template's last commit before its machinery moved into dbkit: projects
# generated from it have models/database.py, scripts/seeding/ and so on.
BEFORE_THE_MOVE = "796b7af01aa6ee518f8b3ef0550aff0df7be7611"

POST_MODEL = """\
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
"""
POST_REVISION = '''\
"""add posts

Revision ID: 5e1f0c2a9b7d
Revises: 2fb5202bc463
"""

import sqlalchemy as sa
from alembic import op

revision = "5e1f0c2a9b7d"
down_revision = "2fb5202bc463"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_posts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    with op.batch_alter_table("posts") as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_user_id"))
    op.drop_table("posts")
'''


def test_a_project_made_before_the_move_updates_cleanly(tmp_path: Path) -> None:
    """Generated with the machinery in models/ and scripts/, grown by its user (a model
    with a foreign key and its revision, committed), updated to today's layout: no
    conflict, the user's work kept, and the project migrates and passes its tests."""
    source = tmp_path / "template"
    git("clone", "-q", str(PROJECT_ROOT), str(source), cwd=tmp_path)
    found = subprocess.run(["git", "cat-file", "-e", f"{BEFORE_THE_MOVE}^{{commit}}"], cwd=source)
    assert found.returncode == 0, "the template's history is needed: run from a full clone"
    project = tmp_path / "acme"
    run_copy(
        str(source), project, data={"project_name": "acme_db"}, defaults=True, unsafe=True,
        vcs_ref=BEFORE_THE_MOVE, quiet=True,
    )  # fmt: skip
    assert (project / "models" / "database.py").exists()  # the old layout
    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "generated", cwd=project)

    (project / "models" / "post.py").write_text(POST_MODEL)
    init = project / "models" / "__init__.py"
    init.write_text(
        init.read_text()
        .replace("from models.user", "from models.post import Post\nfrom models.user")
        .replace('__all__ = ["Base", "User"]', '__all__ = ["Base", "Post", "User"]')
    )  # fmt: skip
    revision = project / "migrations" / "versions" / "2026_12_01_0900-5e1f0c2a9b7d_add_posts.py"
    revision.write_text(POST_REVISION)
    # The diagram, redrawn as the everyday workflow says.
    subprocess.run(
        [sys.executable, "-m", "paracelsus.cli", "inject", "README.md"],
        cwd=project, env={**os.environ, "PYTHONPATH": str(project)}, check=True,
        capture_output=True,
    )  # fmt: skip
    assert "posts {" in (project / "README.md").read_text()
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "add posts", cwd=project)

    run_update(project, defaults=True, unsafe=True, vcs_ref="HEAD", overwrite=True, quiet=True)

    status = git("status", "--porcelain", cwd=project)
    assert "UU " not in status, status
    assert ".rej" not in status, status
    conflicted = subprocess.run(
        ["git", "grep", "-l", "-e", "^<<<<<<< ", "--", "."], cwd=project, capture_output=True,
        text=True,
    )  # fmt: skip
    assert conflicted.stdout == "", conflicted.stdout
    assert (project / "models" / "post.py").read_text() == POST_MODEL
    assert revision.read_text() == POST_REVISION
    assert "posts {" in (project / "README.md").read_text()
    assert (project / "dbkit" / "database.py").exists()
    assert not (project / "models" / "database.py").exists()
    assert not (project / "scripts" / "seeding").exists()

    python, env = new_environment(tmp_path)
    run_in(project, python, "-m", "pip", "install", "--quiet", "-e", ".[test]", env=env)
    run_in(project, python, "-m", "alembic", "upgrade", "head", env=env)
    run_in(project, python, "scripts/seed.py", env=env)
    run_in(project, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", env=env)
