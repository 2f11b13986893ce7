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
- ``pg_cluster`` (session): the throw-away PostgreSQL cluster (see :class:`PgCluster`),
  to make extra databases. Tests needing it are skipped when PostgreSQL cannot start,
  and fail instead when REGIE_REQUIRE_POSTGRES=1 (CI).
- ``today``: the pinned day, ``helpers.TODAY`` (2026-11-23), also in REGIE_TODAY.

Templates make this fast: the schema is migrated once per engine per session (a
PostgreSQL template database, a SQLite file), and each test gets a copy of it.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # `from helpers import …` whatever pytest's import mode
    sys.path.insert(0, str(TESTS_DIR))

from helpers import ADMIN_LOGIN, TODAY, TODAY_HOUR, TOWN_FAMILIES, TOWN_SEED  # noqa: E402

__all__ = ["TODAY"]

REQUIRE_POSTGRES = os.environ.get("REGIE_REQUIRE_POSTGRES") == "1"
#: Parent folder of the throw-away cluster (default: /dev/shm when it is big enough).
PG_PARENT_DIR = os.environ.get("REGIE_TEST_PG_DIR")

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
_KEPT_VARIABLES = {"REGIE_REQUIRE_POSTGRES", "REGIE_TEST_PG_DIR"}
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


class PostgresUnavailable(Exception):
    """The test cluster could not be started; the message says why."""


_cluster_timing: dict[str, float] = {}


@dataclass
class PgCluster:
    """A private PostgreSQL server for this test session.

    It listens on a unix socket in its own temporary folder (trust authentication, user
    ``postgres``) and on 127.0.0.1:``port`` (password authentication, for tests of
    wrong passwords). Databases made here are dropped with the cluster at the end.
    """

    bin_dir: Path
    root: Path
    port: int
    password: str
    version_num: int
    run_as: str | None
    user: str = "postgres"
    _admin: Any = field(default=None, repr=False)
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, dbname: str) -> str:
        """URL of a database of this cluster, through the unix socket."""
        return f"postgresql+psycopg://{self.user}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, dbname: str = "postgres", *, password: str | None = None) -> str:
        """URL through TCP on 127.0.0.1, where the password is checked."""
        secret = self.password if password is None else password
        return f"postgresql+psycopg://{self.user}:{secret}@127.0.0.1:{self.port}/{dbname}"

    def new_name(self, prefix: str = "test") -> str:
        return f"{prefix}_{os.getpid()}_{next(self._names)}"

    def execute(self, sql: str) -> None:
        """Run one statement on the maintenance database, in autocommit mode."""
        self._admin.execute(sql)

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Create a database (empty, or a copy of ``template``); returns its URL."""
        name = name or self.new_name()
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}"'
            if self.version_num >= 150000:
                # With fsync off, copying a small template file by file (20 ms) beats
                # PostgreSQL 15's default of writing it all through the WAL (40 ms).
                sql += " STRATEGY FILE_COPY"
        self.execute(sql)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _run(self, *args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        self._run(self.bin_dir / "pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _find_pg_bin() -> Path:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    for initdb in candidates:
        if (initdb.parent / "pg_ctl").exists():
            return initdb.parent
    initdb = shutil.which("initdb")
    if initdb and Path(initdb).with_name("pg_ctl").exists():
        return Path(initdb).parent
    raise PostgresUnavailable("initdb not found in /usr/lib/postgresql/*/bin nor on PATH (apt-get install postgresql)")


def _unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: the OS user to run it as, or None if we are not root."""
    if os.geteuid() != 0:
        return None
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root and runuser is missing to start PostgreSQL")
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresUnavailable("running as root and no 'postgres' (or 'nobody') OS user to run PostgreSQL")


def _cluster_parent_dir() -> str | None:
    """Where to put the cluster: in memory if possible, where CREATE DATABASE is 10 times faster.

    Not under pytest's basetemp: /tmp/pytest-of-root is closed to the postgres user,
    and a unix socket path must stay short (about 100 bytes).
    """
    if PG_PARENT_DIR:
        return PG_PARENT_DIR
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        stats = None
    if stats is not None and os.access(shm, os.W_OK) and stats.f_bavail * stats.f_frsize > 2 * 1024**3:
        return str(shm)
    return "/tmp" if os.geteuid() == 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphan_clusters(bin_dir: Path, run_as: str | None, parent: Path) -> None:
    """Stop and delete the clusters of test sessions that were killed (they hold memory in /dev/shm)."""
    for root in parent.glob("regie-pg-*"):
        try:
            owner = int((root / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue  # another test session, running now
        orphan = PgCluster(bin_dir=bin_dir, root=root, port=0, password="", version_num=0, run_as=run_as)
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            orphan.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_cluster() -> PgCluster:
    started = time.perf_counter()
    bin_dir = _find_pg_bin()
    run_as = _unprivileged_user()
    parent = _cluster_parent_dir()
    _reap_orphan_clusters(bin_dir, run_as, Path(parent or tempfile.gettempdir()))
    try:
        root = Path(tempfile.mkdtemp(prefix="regie-pg-", dir=parent))
    except OSError as exc:
        raise PostgresUnavailable(f"cannot make the cluster's folder in {parent}: {exc}") from exc
    (root / "owner.pid").write_text(str(os.getpid()))
    password = secrets.token_hex(8)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if run_as:
        account = pwd.getpwnam(run_as)
        for path in (root, pwfile):
            os.chown(path, account.pw_uid, account.pw_gid)
    cluster = PgCluster(bin_dir=bin_dir, root=root, port=0, password=password, version_num=0, run_as=run_as)
    try:
        result = cluster._run(
            bin_dir / "initdb",
            "-D",
            cluster.data_dir,
            "-U",
            cluster.user,
            "--pwfile",
            pwfile,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-locale",
            "--encoding=UTF8",
            "--no-sync",
            "--no-instructions",
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        _cluster_timing["initdb"] = time.perf_counter() - started
        pwfile.unlink()
        for attempt in range(3):
            cluster.port = _free_port()
            with (cluster.data_dir / "postgresql.auto.conf").open("a") as conf:
                conf.write(
                    "\n".join(
                        [
                            "listen_addresses = '127.0.0.1'",
                            f"port = {cluster.port}",
                            f"unix_socket_directories = '{cluster.socket_dir}'",
                            "fsync = off",
                            "synchronous_commit = off",
                            "full_page_writes = off",
                            "wal_level = minimal",
                            "max_wal_senders = 0",
                            "max_wal_size = '256MB'",
                            "min_wal_size = '32MB'",
                            "autovacuum = off",
                            "max_connections = 100",
                            "shared_buffers = 64MB",
                            "lc_messages = 'C'",
                            "timezone = 'Europe/Paris'",
                            "log_min_messages = warning",
                            "",
                        ]
                    )
                )
            log = cluster.root / "server.log"
            result = cluster._run(
                bin_dir / "pg_ctl", "-D", cluster.data_dir, "-l", log, "-w", "-t", "60", "-s", "start"
            )
            if result.returncode == 0:
                break
            if "could not bind" not in _tail(log) or attempt == 2:
                raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr.strip()}\n{_tail(log)}".strip())
        import psycopg

        cluster._admin = psycopg.connect(
            host=str(cluster.socket_dir),
            port=cluster.port,
            user=cluster.user,
            dbname="postgres",
            autocommit=True,
        )
        cluster.version_num = int(cluster._admin.execute("SHOW server_version_num").fetchone()[0])
    except PostgresUnavailable:
        cluster.stop()
        raise
    except Exception as exc:  # subprocess timeouts, psycopg errors…
        cluster.stop()
        raise PostgresUnavailable(f"{type(exc).__name__}: {exc}\n{_tail(cluster.root / 'server.log')}") from exc
    _cluster_timing["start"] = time.perf_counter() - started
    _cluster_timing["version"] = cluster.version_num
    return cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's PostgreSQL cluster; skips (or fails, with REGIE_REQUIRE_POSTGRES=1)."""
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        reason = f"PostgreSQL test cluster unavailable: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{reason}\n(REGIE_REQUIRE_POSTGRES=1: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(reason)
    try:
        yield cluster
    finally:
        cluster.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if "start" in _cluster_timing:
        version = int(_cluster_timing["version"]) // 10000
        terminalreporter.write_line(
            f"PostgreSQL {version} test cluster started in {_cluster_timing['start']:.2f} s "
            f"(initdb {_cluster_timing['initdb']:.2f} s)"
        )


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
    pristine = cluster.new_name("regie_town_template")
    _seed(cluster.create_database(pristine, template=template))
    cluster.execute(f"ALTER DATABASE {pristine} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
    town = cluster.new_name("regie_town")
    url = cluster.create_database(town, template=pristine)
    cluster.execute(f"ALTER DATABASE {town} SET default_transaction_read_only = on")
    return SeededTown("postgresql", url, pristine)


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
