"""The migration safety net: every revision of a history, checked on a real database.

The checks (dbkit/safety_net/checks.py) are what tests/test_migration_safety.py
calls; what a project accepts is read from migrations/accepted.toml
(accepted.py); drift is described one line per difference (drift.py); the
data check's rows come from the column types (sample_rows.py).
"""

from dbkit.safety_net.checks import (
    MigrationCheckFailed,
    check_data_survives,
    check_history,
    check_no_drift,
    check_offline_sql,
    check_stairway,
    check_upgrade,
    history_config,
    revisions_in_order,
)

__all__ = [
    "MigrationCheckFailed",
    "check_data_survives",
    "check_history",
    "check_no_drift",
    "check_offline_sql",
    "check_stairway",
    "check_upgrade",
    "history_config",
    "revisions_in_order",
]
