"""Errors whose message is written for the agent, in French."""


class RegieError(Exception):
    """An expected failure: its message is shown as is, without a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseError(RegieError):
    """The database cannot be used: unreachable, not ours, or not at our schema."""


class AccessDenied(RegieError):
    """The login is not an agent of this régie, or lacks the role for the action."""


class NotFound(RegieError):
    """The record asked for does not exist (or no longer does)."""
