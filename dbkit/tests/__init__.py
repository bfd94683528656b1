"""The machinery's own tests: each mechanism of dbkit, on models and histories the
tests build themselves, so they pass for any correct project. A project may keep
them (they run with its pytest) or delete this folder."""
