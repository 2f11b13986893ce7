"""Building the app on the seeded town, as the `regie` command does."""

import pytest
from sqlmodel import Session, select
from textual.reactive import reactive
from textual.widgets import Input

from regie_tui.app import create_app
from regie_tui.db import make_engine
from regie_tui.models import Agent, Role
from regie_tui.services.trust.agents import resolve_agent

from helpers import ADMIN_LOGIN, TODAY


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch):
    """Text cursors do not blink in tests: a snapshot must not depend on when it is taken."""
    steady = reactive(False, init=False)
    steady.__set_name__(Input, "cursor_blink")
    monkeypatch.setattr(Input, "cursor_blink", steady)


def _app_builder(url: str):
    """build(role=None) -> the app on ``url``, as the admin or an agent of ``role``; and the engines to dispose."""
    engines = []

    def build(role: Role | None = None):
        engine = make_engine(url)
        engines.append(engine)
        with Session(engine) as session:
            login = ADMIN_LOGIN
            if role is not None:
                found = session.exec(select(Agent.login).where(Agent.role == role)).first()
                assert found is not None, f"the town has an agent of role {role}"
                login = found
            agent = resolve_agent(session, login)
        return create_app(engine=engine, agent=agent, today=TODAY)

    return build, engines


@pytest.fixture
def make_app(town_url):
    """make_app(role=None): the app on the test town, as the admin or an agent of ``role``."""
    build, engines = _app_builder(town_url)
    yield build
    for engine in engines:
        engine.dispose()


@pytest.fixture
def make_fresh_app(fresh_town_url):
    """make_fresh_app(role=None): the app on a private copy of the test town, free to write to."""
    build, engines = _app_builder(fresh_town_url)
    yield build
    for engine in engines:
        engine.dispose()
