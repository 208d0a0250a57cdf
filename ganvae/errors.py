"""The project's own error types: each carries one sentence naming the problem and the fix."""


class GanvaeError(Exception):
    """Base class for every error ganvae reports to a user as one line."""


class ConfigError(GanvaeError, ValueError):
    """A flag, option or setting has a value that cannot be used."""


class DataError(GanvaeError, ValueError):
    """A dataset is missing, corrupt or has the wrong shape or values."""


class RunError(GanvaeError, RuntimeError):
    """A run folder or checkpoint is missing, corrupt, or a run diverged."""


def one_line(exc: BaseException) -> str:
    """An error's text on one line (a library's message, torch's above all, often has several)."""
    return " ".join(str(exc).split())
