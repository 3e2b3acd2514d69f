"""The exception tree: each class knows the exit code a user sees."""

from __future__ import annotations

from collections.abc import Sequence


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


class ToolError(PromoterError):
    """An external tool (git, dvc) that exited non-zero: its command, exit code and output.

    Subclasses say how their tool's command is shown and which output line explains it.
    """

    def __init__(self, command: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        reason = self.reason(stderr) or self.reason(stdout) or "no error output"
        super().__init__(f"{self.shown(self.command)} failed (exit {returncode}): {reason}")

    @staticmethod
    def shown(command: Sequence[str]) -> str:
        """The command as a user would type it."""
        return " ".join(command)

    @staticmethod
    def reason(output: str) -> str:
        """The line of the output that says what went wrong ('' when there is none)."""
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        return lines[-1] if lines else ""
