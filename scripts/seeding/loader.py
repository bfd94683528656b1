"""One load: records in, batches written, counts out, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from seeding.records import Problem, Record
from seeding.validation import Validator
from seeding.writers import batches, writer_for

DEFAULT_BATCH_SIZE = 20_000


@dataclass(frozen=True)
class LoadResult:
    read: int
    inserted: int

    @property
    def already_present(self) -> int:
        return self.read - self.inserted


class InvalidInput(Exception):
    """The input has problems; nothing may be written."""

    def __init__(self, problems: list[Problem], count: int) -> None:
        super().__init__(f"{count} problem(s) in the input")
        self.problems = problems
        self.count = count


def load(
    connection: Connection,
    records: Iterable[Record],
    *,
    validator: Validator | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
    dry_run: bool = False,
) -> LoadResult:
    """Write ``records`` (users already present are skipped) in ``connection``'s transaction.

    ``validator``, when the records come from one, is asked for the problems it
    found once the input is exhausted; if there are any, :class:`InvalidInput`
    is raised and the caller rolls back. ``inserted`` counts the rows this load
    inserted, whatever other sessions insert meanwhile. With ``dry_run`` it
    counts what would be inserted and writes nothing to the table.
    """
    write = writer_for(connection, dry_run=dry_run)
    read = inserted = 0
    for batch in batches(records, batch_size):
        batch_read, batch_inserted = write(batch)
        read += batch_read
        inserted += batch_inserted
        if on_batch is not None:
            on_batch(batch_read)
    if validator is not None:
        validator.check_duplicates()
        if validator.problem_count:
            raise InvalidInput(validator.problems_sorted, validator.problem_count)
    return LoadResult(read=read, inserted=inserted)
