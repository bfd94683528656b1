"""Generated users: deterministic, valid and unique, for load and development databases.

Kept free of SQLAlchemy imports, so that the benchmark's raw-driver baseline
can generate the very same users at the same cost.
"""

from __future__ import annotations

from collections.abc import Iterator

from seeding.records import Record

FIRST_NAMES = (
    "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace",
    "Hedy", "John", "Ken", "Leslie", "Margaret", "Niklaus", "Radia", "Tim",
)  # fmt: skip
LAST_NAMES = (
    "Allen", "Backus", "Dijkstra", "Hamilton", "Hopper", "Kay", "Knuth", "Lamport",
    "Liskov", "Lovelace", "McCarthy", "Perlman", "Ritchie", "Shannon", "Turing", "Wirth",
)  # fmt: skip


def fake_users(count: int) -> Iterator[Record]:
    """Users 1 to ``count``; the same ``count`` always gives the same users."""
    first, last = FIRST_NAMES, LAST_NAMES
    for number in range(1, count + 1):
        name = f"user{number:07d}"
        yield (name, f"{name}@example.com", f"{first[number % 16]} {last[number // 16 % 16]}")
