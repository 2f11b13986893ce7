"""Settings read from the environment (prefix REGIE_), or given on the command line.

Two variables only, read directly: this module sits on the start-up path of every
command, where importing a settings framework would cost more than the app's first paint.
"""

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = f"sqlite:///{Path('data') / 'regie.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str  # REGIE_DATABASE_URL
    today: str | None  # REGIE_TODAY, YYYY-MM-DD[THH:MM]: pins "today" (and the hour) for training and tests


def settings() -> Settings:
    return Settings(
        database_url=os.environ.get("REGIE_DATABASE_URL") or DEFAULT_DATABASE_URL,
        today=os.environ.get("REGIE_TODAY") or None,
    )
