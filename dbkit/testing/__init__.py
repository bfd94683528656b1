"""Testing a project: the pytest plugin and its fixtures (plugin.py), scratch
databases on any backend (scratch.py), stepping a database through the history
(migration_steps.py), histories in temporary directories (histories.py), and
the project's commands run as a user runs them (commands.py)."""
