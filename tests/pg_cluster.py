"""The throw-away PostgreSQL server of a test session (``pg_cluster`` in conftest.py).

One per test process (each pytest-xdist worker has its own): initdb in a temporary folder,
in memory when /dev/shm is big enough, run by an unprivileged OS user when the tests run
as root, stopped and deleted at the session's end; a cluster left by a killed session is
reaped by the next one.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Parent folder of the throw-away cluster (default: /dev/shm when it is big enough).
PG_PARENT_DIR = os.environ.get("REGIE_TEST_PG_DIR")


class PostgresUnavailable(Exception):
    """The test cluster could not be started; the message says why."""


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
    timing: dict[str, float] = field(default_factory=dict)  # seconds to initdb, to start; the version
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
    on_path = shutil.which("initdb")
    if on_path and Path(on_path).with_name("pg_ctl").exists():
        return Path(on_path).parent
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
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_cluster() -> PgCluster:
    """Make, start and connect to a new cluster; PostgresUnavailable says why it could not."""
    started = time.perf_counter()
    cluster = _new_cluster()
    try:
        _initdb(cluster)
        cluster.timing["initdb"] = time.perf_counter() - started
        _start_server(cluster)
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
    cluster.timing["start"] = time.perf_counter() - started
    cluster.timing["version"] = cluster.version_num
    return cluster


def _new_cluster() -> PgCluster:
    """The cluster's folder, owned by the OS user that will run it, with its password file."""
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
    (root / "pwfile").write_text(password + "\n")
    if run_as:
        account = pwd.getpwnam(run_as)
        for path in (root, root / "pwfile"):
            os.chown(path, account.pw_uid, account.pw_gid)
    return PgCluster(bin_dir=bin_dir, root=root, port=0, password=password, version_num=0, run_as=run_as)


def _initdb(cluster: PgCluster) -> None:
    pwfile = cluster.root / "pwfile"
    result = cluster._run(
        cluster.bin_dir / "initdb",
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
    pwfile.unlink()


#: A throw-away server: fast rather than durable, quiet, in Paris time.
_SETTINGS = [
    "listen_addresses = '127.0.0.1'",
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
]


def _start_server(cluster: PgCluster) -> None:
    """Start the server on a free port, trying another one if it was taken meanwhile."""
    log = cluster.root / "server.log"
    for attempt in range(3):
        cluster.port = _free_port()
        with (cluster.data_dir / "postgresql.auto.conf").open("a") as conf:
            where = [f"port = {cluster.port}", f"unix_socket_directories = '{cluster.socket_dir}'"]
            conf.write("\n".join([*_SETTINGS, *where, ""]))
        result = cluster._run(
            cluster.bin_dir / "pg_ctl", "-D", cluster.data_dir, "-l", log, "-w", "-t", "60", "-s", "start"
        )
        if result.returncode == 0:
            return
        if "could not bind" not in _tail(log) or attempt == 2:
            raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr.strip()}\n{_tail(log)}".strip())
