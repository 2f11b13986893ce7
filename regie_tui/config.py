"""Settings read from the environment (prefix REGIE_) or given on the command line."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = f"sqlite:///{Path('data') / 'regie.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGIE_")

    database_url: str = DEFAULT_DATABASE_URL
    today: str | None = None  # YYYY-MM-DD: pins "today" for training sessions and tests


def settings() -> Settings:
    return Settings()
