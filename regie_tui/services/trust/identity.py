"""Who is at the keyboard of a database connection; it cannot be faked from the environment.

- On SQLite (one desk), the agent is the operating-system account of the process (its uid,
  read from the password database), never ``LOGNAME`` or ``USER``.
- On PostgreSQL, the agent is the session's own role (``session_user``), authenticated by
  PostgreSQL itself (peer authentication over the Unix socket, or a password per agent).
  The database's owner (or a superuser) runs migrations and creates agents, and is refused
  the daily work.

SQLAlchemy Core only: the app asks it before the ORM is imported.
"""

import os
import pwd
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from regie_tui.errors import AccessDenied


@dataclass(frozen=True)
class Connected:
    """Who a database connection is."""

    login: str
    owner: bool  # PostgreSQL: the database's owner or a superuser (migrations, creating agents)


def os_login() -> str:
    """The operating-system account of this process, from its uid (not from the environment)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def connected_identity(connection: Connection) -> Connected:
    """The OS account (SQLite), or the session's role and whether it owns the database (PostgreSQL)."""
    if connection.dialect.name != "postgresql":
        return Connected(login=os_login(), owner=False)
    login, owner = connection.execute(
        text(
            "SELECT session_user, r.rolsuper OR d.datdba = r.oid FROM pg_roles r, pg_database d "
            "WHERE r.rolname = session_user AND d.datname = current_database()"
        )
    ).one()
    return Connected(login=login, owner=bool(owner))


def desk_login(connection: Connection) -> str:
    """The login of the agent at the keyboard; the database's owner is refused the daily work."""
    who = connected_identity(connection)
    if who.owner:
        raise AccessDenied(
            f"« {who.login} » est le compte propriétaire de la base : il sert aux migrations "
            "(regie db upgrade) et à créer les agents (regie agent add), pas au travail de la régie. "
            "Connectez-vous avec votre propre compte d'agent."
        )
    return who.login
