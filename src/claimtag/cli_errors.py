"""What the command-line modules share without importing each other: the usage error and the
``--date`` check (``cli`` and ``cli_tracker`` both import this module, never each other's)."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def checked_date(value: str | None) -> str | None:
    """``--date`` as ISO text, or a usage error naming the bad value."""
    from .timex import parse_date

    try:
        day = parse_date(value)
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None
    return day.isoformat() if day else None
