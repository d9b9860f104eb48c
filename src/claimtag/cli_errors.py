"""What the command-line modules share without importing each other: the usage error, the
``--model`` option and the ``--date`` check (``cli``, ``cli_tracker`` and ``cli_training`` import
this module, never each other)."""

from __future__ import annotations

from typing import Annotated

import typer

ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model directory; default: the bundled claimtag-news."),
]


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
