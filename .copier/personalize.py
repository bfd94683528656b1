"""Write a new project's answers into the files that carry its name.

Copier runs this in the new project's directory right after copying (see
copier.yml). The template's files stay plain, working files rather than
Jinja templates, so the template repository is itself a project that runs and
passes its tests; this script makes the few edits a new project needs.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

TEMPLATE_ONLY = re.compile(r"<!-- template-only:start -->.*?<!-- template-only:end -->\n*", re.S)
DESCRIPTION = re.compile(r"(<!-- description:start -->\n).*?(\n<!-- description:end -->)", re.S)
EXAMPLE_URLS = {
    "postgresql": "DATABASE_URL=postgresql+psycopg://",
    "mysql": "DATABASE_URL=mysql+pymysql://",
}


def toml_string(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def personalize_pyproject(path: Path, name: str, description: str, author: str) -> None:
    text = path.read_text()
    text = re.sub(r'(?m)^name = ".*"$', f"name = {toml_string(name)}", text, count=1)
    text = re.sub(
        r'(?m)^description = ".*"$', f"description = {toml_string(description)}", text, count=1
    )
    if author:
        text = re.sub(
            r"(?m)^(requires-python = .*)$",
            rf"\1\nauthors = [{{ name = {toml_string(author)} }}]",
            text,
            count=1,
        )
    path.write_text(text)


def personalize_readme(path: Path, name: str, description: str) -> None:
    text = path.read_text()
    text = re.sub(r"(?m)\A# .*$", f"# {name}", text, count=1)
    text = DESCRIPTION.sub(lambda match: f"{match[1]}{description}{match[2]}", text, count=1)
    path.write_text(TEMPLATE_ONLY.sub("", text))


def personalize_env_example(path: Path, database: str) -> None:
    """Make the chosen database's example URL the active one."""
    if database not in EXAMPLE_URLS:
        return
    prefix = EXAMPLE_URLS[database]
    lines = path.read_text().splitlines(keepends=True)
    lines = [line[2:] if line.startswith(f"# {prefix}") else line for line in lines]
    path.write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--description", required=True)
    parser.add_argument("--author", default="")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "mysql"), required=True)
    args = parser.parse_args()
    root = Path.cwd()
    personalize_pyproject(root / "pyproject.toml", args.name, args.description, args.author)
    personalize_readme(root / "README.md", args.name, args.description)
    for page in sorted((root / "docs").glob("*.md")):
        page.write_text(TEMPLATE_ONLY.sub("", page.read_text()))
    personalize_env_example(root / ".env.example", args.database)


if __name__ == "__main__":
    main()
