"""The session-wide user files of the CLI tests (see cli_files.py)."""

from cli_files import user_files  # noqa: F401 - a fixture, found by name
