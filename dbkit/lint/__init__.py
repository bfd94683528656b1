"""The migration linter: operations that are dangerous on a live database."""
