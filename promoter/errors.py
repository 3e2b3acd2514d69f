"""The exception tree: each class knows the exit code a user sees."""

from __future__ import annotations


class PromoterError(Exception):
    """A failure of the job that the user can act on (exit 1)."""

    exit_code = 1


class UsageError(PromoterError):
    """Bad usage or bad input: a flag, a run id, a missing GUILD_HOME (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration file that is missing, unreadable or invalid (exit 2)."""

    def __init__(self, path: str, key: str | None, reason: str) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {reason}")
