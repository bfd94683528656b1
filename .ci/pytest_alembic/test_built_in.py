"""pytest-alembic's four built-in tests, collected by importing them: the plugin's
documented alternative to --test-alembic, whose own collector fails on pytest 9
(pytest-alembic 0.13.1: 'TestCollector' object has no attribute '_nodeid')."""

from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]
