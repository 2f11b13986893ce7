"""Fixtures shared by every test: an isolated environment and throw-away databases.

Databases (every data test runs on SQLite and PostgreSQL alike):

- ``db_url`` (function, parametrised ``sqlite`` / ``postgresql``): the URL of a fresh,
  empty database at the head revision, for this test only. To run a test on one engine
  only: ``@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)``.
- ``engine``: ``regie_tui.db.make_engine(db_url)``, disposed after the test.
- ``empty_db_url`` (function, both engines): a database with no schema at all (an empty
  SQLite file, a new PostgreSQL database), e.g. for ``regie db upgrade``.
- ``town_url`` (session, both engines): the small deterministic town of
  ``seed_demo_town(families=12, seed=7, today=TODAY, admin_login="agent.test")``, seeded
  once per engine. READ-ONLY: on PostgreSQL every transaction on it is read-only.
- ``fresh_town_url`` (function, both engines): a private copy of that town, to write to.
- ``pg_cluster`` (session): the throw-away PostgreSQL cluster (see tests/pg_cluster.py),
  to make extra databases. Tests needing it fail when PostgreSQL cannot start, saying
  what to install; ``REGIE_SKIP_POSTGRES=1`` skips them instead, and the session's
  summary says how many were skipped.
- ``today``: the pinned day, ``helpers.TODAY`` (2026-11-23), also in REGIE_TODAY.

Templates make this fast: the schema is migrated once per engine per session (a
PostgreSQL template database, a SQLite file), and each test gets a copy of it.

Under pytest-xdist (``make test`` runs ``-n auto``) every worker is a session of its own:
its own cluster, its own templates and seeded towns, in its own temporary folders.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # `from helpers import …` whatever pytest's import mode
    sys.path.insert(0, str(TESTS_DIR))

from helpers import ADMIN_LOGIN, TODAY, TODAY_HOUR, TOWN_FAMILIES, TOWN_SEED  # noqa: E402
from pg_cluster import PgCluster, PostgresUnavailable, start_cluster  # noqa: E402

__all__ = ["TODAY"]

#: REGIE_SKIP_POSTGRES=1: run without PostgreSQL, its tests skipped (and counted at the end).
SKIP_POSTGRES = os.environ.get("REGIE_SKIP_POSTGRES") == "1"
SKIPPED_POSTGRES = "REGIE_SKIP_POSTGRES=1: PostgreSQL test skipped"
#: What to do when the cluster cannot start, in the failure and in the summary.
POSTGRES_HOW_TO = (
    "The PostgreSQL tests need the server's binaries (initdb and pg_ctl, e.g. PostgreSQL 15 in "
    "/usr/lib/postgresql/15/bin: apt-get install postgresql). To run without them, opt out "
    "explicitly: REGIE_SKIP_POSTGRES=1 make test"
)

BACKEND_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


# --------------------------------------------------------------------------------------
# Isolation from the developer's machine (as Harlequin and Posting do)
# --------------------------------------------------------------------------------------

#: C.UTF-8 exists everywhere (fr_FR.UTF-8 often does not, e.g. on CI): French formatting
#: goes through Babel with an explicit locale, never through the process locale.
TEST_LOCALE = "C.UTF-8"

_ISOLATED_ENV = {
    # The day, and an hour: what the tests see must not depend on the hour they run at.
    "REGIE_TODAY": f"{TODAY.isoformat()}T{TODAY_HOUR}",
    "TZ": "Europe/Paris",
    "LANG": TEST_LOCALE,
    "LC_ALL": TEST_LOCALE,
    "TEXTUAL_ANIMATIONS": "none",
    "TEXTUAL_SMOOTH_SCROLL": "0",
    "COLUMNS": "80",
    "LINES": "24",
}
#: TEXTUAL_SNAPSHOT_TEMPDIR: where pytest-textual-snapshot's xdist workers leave their results.
_KEPT_VARIABLES = {"REGIE_SKIP_POSTGRES", "REGIE_TEST_PG_DIR", "TEXTUAL_SNAPSHOT_TEMPDIR"}
#: libpq reads these: a developer's PGPASSWORD or PGHOST must not leak into the tests.
_LIBPQ_VARIABLES = {
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGAPPNAME",
    "PGTZ",
    "PGDATESTYLE",
}

_env_patch = pytest.MonkeyPatch()
_private_home: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _private_home
    config.addinivalue_line("markers", "postgresql: needs the throw-away PostgreSQL test cluster")
    for name in list(os.environ):
        if name in _KEPT_VARIABLES:
            continue
        if name.startswith(("REGIE_", "TEXTUAL_")) or name in _LIBPQ_VARIABLES or name == "NO_COLOR":
            _env_patch.delenv(name)
    for name, value in _ISOLATED_ENV.items():
        _env_patch.setenv(name, value)
    # No user configuration (key bindings, themes…) may change what the tests see.
    _private_home = Path(tempfile.mkdtemp(prefix="regie-tests-home-"))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        _env_patch.setenv(name, str(_private_home / name.lower()))
    time.tzset()
    # pytest-textual-snapshot imported Textual before this conftest: its constants were
    # read from the developer's environment. Read them again from the isolated one.
    if "textual.constants" in sys.modules:
        importlib.reload(sys.modules["textual.constants"])


def pytest_unconfigure(config: pytest.Config) -> None:
    _env_patch.undo()
    time.tzset()
    if _private_home is not None:
        shutil.rmtree(_private_home, ignore_errors=True)


@pytest.fixture
def today() -> date:
    """The pinned 'today' of the whole session (REGIE_TODAY)."""
    return TODAY


# --------------------------------------------------------------------------------------
# The throw-away PostgreSQL cluster
# --------------------------------------------------------------------------------------


def _needs_postgres(item: pytest.Item) -> bool:
    return item.get_closest_marker("postgresql") is not None or "pg_cluster" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With REGIE_SKIP_POSTGRES=1, the PostgreSQL tests are skipped before any cluster is tried."""
    if not SKIP_POSTGRES:
        return
    skip = pytest.mark.skip(reason=SKIPPED_POSTGRES)
    for item in items:
        if _needs_postgres(item):
            item.add_marker(skip)


_cluster_timing: dict[str, float] = {}  # this process's cluster (see PgCluster.timing)


@pytest.fixture(scope="session")
def pg_cluster(request: pytest.FixtureRequest) -> Iterator[PgCluster]:
    """This session's PostgreSQL cluster. When it cannot start, the test fails with what to
    install and the session stops after it; REGIE_SKIP_POSTGRES=1 skips instead."""
    if SKIP_POSTGRES:  # a test that reached the cluster without the postgresql mark
        pytest.skip(SKIPPED_POSTGRES)
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        reason = f"PostgreSQL test cluster unavailable: {exc}"
        request.session.shouldstop = reason
        pytest.fail(f"{reason}\n{POSTGRES_HOW_TO}", pytrace=False)
    _cluster_timing.update(cluster.timing)
    try:
        yield cluster
    finally:
        cluster.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its cluster's timing to the controller's summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["regie_pg_cluster"] = dict(_cluster_timing)


_workers_clusters: dict[str, dict[str, Any]] = {}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """(xdist, in the controller) a worker ended: keep its cluster's timing for the summary."""
    timing = getattr(node, "workeroutput", {}).get("regie_pg_cluster")
    if timing:
        _workers_clusters[node.gateway.id] = timing


def _cluster_lines() -> list[str]:
    clusters = dict(_workers_clusters) or ({"": _cluster_timing} if _cluster_timing else {})
    lines = []
    for worker, timing in sorted(clusters.items()):
        where = f" ({worker})" if worker else ""
        if "start" in timing:
            lines.append(
                f"PostgreSQL {int(timing['version']) // 10000} test cluster{where} started in "
                f"{timing['start']:.2f} s (initdb {timing['initdb']:.2f} s)"
            )
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _cluster_lines():
        terminalreporter.write_line(line)
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and SKIPPED_POSTGRES in str(report.longrepr[2])
    ]
    if skipped:
        terminalreporter.write_sep(
            "!",
            f"{len(skipped)} PostgreSQL tests SKIPPED (REGIE_SKIP_POSTGRES=1): this run checked SQLite only",
            yellow=True,
            bold=True,
        )
    unavailable = [
        report
        for report in terminalreporter.stats.get("error", [])
        if "PostgreSQL test cluster unavailable" in str(report.longrepr)
    ]
    if unavailable:
        terminalreporter.write_sep("!", "PostgreSQL could not start: its tests did not run", red=True, bold=True)
        terminalreporter.write_line(POSTGRES_HOW_TO)


# --------------------------------------------------------------------------------------
# Migrated templates, one per engine per session
# --------------------------------------------------------------------------------------


def _migrate(url: str) -> None:
    from regie_tui.db import make_engine, upgrade

    engine = make_engine(url, create=True)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _checkpoint_and_dispose(engine: Any) -> None:
    """Fold the SQLite WAL into the main file, so that copying the file copies it all."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _copy_sqlite(source: Path, target: Path) -> str:
    shutil.copyfile(source, target)
    return _sqlite_url(target)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by each test (never open it yourself)."""
    from regie_tui.db import make_engine, upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "regie.db"
    engine = make_engine(_sqlite_url(path), create=True)
    upgrade(engine)
    _checkpoint_and_dispose(engine)
    return path


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PgCluster) -> str:
    """Name of a PostgreSQL template database migrated to head (connections refused)."""
    name = "regie_template"
    _migrate(pg_cluster.create_database(name))
    pg_cluster.execute(f"ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
    return name


@pytest.fixture(params=BACKEND_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database at the head revision, empty of rows, for this test only."""
    if request.param == "sqlite":
        yield _copy_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "regie.db")
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    template = request.getfixturevalue("pg_template")
    name = cluster.new_name()
    url = cluster.create_database(name, template=template)
    yield url
    cluster.drop_database(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    """``regie_tui.db.make_engine(db_url)``, disposed after the test."""
    from regie_tui.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(params=BACKEND_PARAMS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database without any table (an empty SQLite file, a new PostgreSQL database)."""
    if request.param == "sqlite":
        path = tmp_path / "empty.db"
        path.touch()
        yield _sqlite_url(path)
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = cluster.new_name("empty")
    url = cluster.create_database(name)
    yield url
    cluster.drop_database(name)


# --------------------------------------------------------------------------------------
# The seeded test town
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeededTown:
    backend: str
    url: str  # read-only use
    pristine: str  # SQLite: path of an untouched copy; PostgreSQL: template database name


def _seed(url: str) -> None:
    from regie_tui.db import make_engine
    from regie_tui.demo.seed import seed_demo_town

    engine = make_engine(url)
    try:
        seed_demo_town(engine, families=TOWN_FAMILIES, seed=TOWN_SEED, today=TODAY, admin_login=ADMIN_LOGIN)
    finally:
        _checkpoint_and_dispose(engine)


@pytest.fixture(scope="session", params=BACKEND_PARAMS)
def _seeded_town(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SeededTown:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("town-sqlite")
        pristine = folder / "town-pristine.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), pristine)
        _seed(_sqlite_url(pristine))
        url = _copy_sqlite(pristine, folder / "town.db")
        return SeededTown("sqlite", url, str(pristine))
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    template = request.getfixturevalue("pg_template")
    # Names of their own: a test module choosing the engine (indirect parametrisation) makes a second town.
    pristine_name = cluster.new_name("regie_town_template")
    _seed(cluster.create_database(pristine_name, template=template))
    cluster.execute(f"ALTER DATABASE {pristine_name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
    town = cluster.new_name("regie_town")
    url = cluster.create_database(town, template=pristine_name)
    cluster.execute(f"ALTER DATABASE {town} SET default_transaction_read_only = on")
    return SeededTown("postgresql", url, pristine_name)


@pytest.fixture(scope="session")
def town_url(_seeded_town: SeededTown) -> str:
    """URL of the seeded test town, shared by the session: READ-ONLY (use fresh_town_url to write)."""
    return _seeded_town.url


@pytest.fixture
def fresh_town_url(_seeded_town: SeededTown, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private copy of the seeded test town for this test, free to write to."""
    if _seeded_town.backend == "sqlite":
        yield _copy_sqlite(Path(_seeded_town.pristine), tmp_path / "town.db")
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = cluster.new_name("town")
    url = cluster.create_database(name, template=_seeded_town.pristine)
    yield url
    cluster.drop_database(name)
