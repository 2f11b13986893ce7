"""What every command group of `regie` shares: the ``--db`` options and the desk their eager
callbacks open (database + agent), the régie's ``--regie`` option, the parsing of ids, days
and months, the consoles, JSON output and the French error line.

Imports no command group (they import this module, never one another).
"""

import dataclasses
import functools
import json
import re
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar, cast

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.core import ParameterSource
from typer._click.exceptions import UsageError
from typer._click.globals import get_current_context

from regie_tui import clock
from regie_tui.config import settings
from regie_tui.errors import RegieError, error_message, refused_by_database, system_error
from regie_tui.limits import ID_MAX

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from regie_tui.services.trust.agents import AgentInfo

P = ParamSpec("P")
R = TypeVar("R")

#: Markup off: what agents and families typed prints as typed (« [/] » is text, not a tag that
#: would stop the command); the few styled lines ask for markup and escape what they show.
out = Console(markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False)


def say(text: str) -> None:
    """One plain line on stdout: no markup, no highlighting, never cut."""
    out.print(text, highlight=False, markup=False, soft_wrap=True)


DB_HELP = "Adresse de la base (sqlite:///… ou postgresql+psycopg://…). Défaut : REGIE_DATABASE_URL ou sqlite:///data/regie.db."
JsonOption = Annotated[bool, typer.Option("--json", help="Sortie JSON (pour les scripts).")]

# ------------------------------------------------------------------ ids, days, months

#: Ids run from 1 to ``limits.ID_MAX`` (PostgreSQL's INTEGER): a number outside is refused
#: by the parser, in French, before any query.
ID_MIN = 1


def id_argument(help: str, *, metavar: str | None = None) -> Any:
    """The ``typer.Argument`` of a record's number (family, child, unit, item…): every id
    argument of every command uses it, so that all are bounded like the database's ids."""
    return typer.Argument(help=help, metavar=metavar, min=ID_MIN, max=ID_MAX)


def id_option(name: str, help: str) -> Any:
    """The ``typer.Option`` of a record's number (``--activity``, ``--group``…), bounded likewise."""
    return typer.Option(name, help=help, min=ID_MIN, max=ID_MAX)


def day(text: str, label: str) -> date:
    """A date typed on the command line (JJ/MM/AAAA or AAAA-MM-JJ), in the régie's years
    (``validation.parse_date``, the one parser of every date): else a French line, exit 1."""
    from regie_tui.services.common.validation import parse_date

    return parse_date(text, label)


def day_or_today(text: str | None, label: str) -> date:
    """:func:`day`, or today when the option is not given."""
    return day(text, label) if text is not None else clock.today()


def month(text: str, label: str = "Mois") -> date:
    """A month typed AAAA-MM on the command line: its first day, in the régie's years."""
    from regie_tui.services.common.validation import parse_month

    return parse_month(text, label)


def refuse_repeated(values: Iterable[object], message: str) -> None:
    """A repeatable option given the same value twice (``--line 1 --line 1``) is unclear:
    ``message`` (its ``{}`` the value) in French, exit 1, before anything runs."""
    seen: set[object] = set()
    for value in values:
        key = value.strip() if isinstance(value, str) else value
        if key in seen:
            fail(message.format(key))
        seen.add(key)


# ------------------------------------------------------------------ the régie's code

#: The command parameter that holds a régie's code: every command with ``--regie`` names it so.
REGIE_PARAMETER = "regie"
BOTH_REGIE_NAMES = (
    "Les options « --regie » et « --service » (son ancien nom) sont données ensemble : une seule valeur est attendue."
)


def _regie_given_once(ctx: typer.Context, value: str | None) -> str | None:
    """``--regie``'s callback: given with its old name ``--service`` too, a usage error (exit 2)."""
    typed = ctx.get_parameter_source(REGIE_PARAMETER) is ParameterSource.COMMANDLINE
    if typed and ctx.lookup_default(REGIE_PARAMETER) is not None:
        raise UsageError(BOTH_REGIE_NAMES, ctx)
    return value


def regie_option(help: str) -> Any:
    """The ``typer.Option`` of a régie's code, ``--regie CODE``; a command that takes it also
    declares :data:`RegieAlias` (``--service``, its old name) and names it :data:`REGIE_PARAMETER`."""
    return typer.Option("--regie", help=help, callback=_regie_given_once)


def _regie_from_old_name(ctx: typer.Context, value: str | None) -> str | None:
    """``--service``'s callback, eager so that it runs before ``--regie`` is read: its value
    becomes ``--regie``'s default for this command (Click's default map), so that a required
    ``--regie`` is satisfied by the old name alone."""
    if value is not None and not ctx.resilient_parsing:
        ctx.default_map = {**(ctx.default_map or {}), REGIE_PARAMETER: value}
    return value


#: ``--service CODE``, the old name of ``--regie CODE``: still accepted (scripts written
#: before the rename), hidden from the help.
RegieAlias = Annotated[str | None, typer.Option("--service", hidden=True, is_eager=True, callback=_regie_from_old_name)]

# ------------------------------------------------------------------ the database and the desk

#: `regie --db URL <command>`: the URL given before the command, kept in the contexts' shared meta.
_URL_BEFORE_COMMAND = "regie.db_before_command"


def remember_url_before_command(ctx: typer.Context, db: str | None) -> None:
    """Keep ``regie --db URL …``'s URL for the command that follows (when it is given none)."""
    ctx.meta[_URL_BEFORE_COMMAND] = db


def database_url(db: str | None) -> str:
    """The command's ``--db``, else the one given before the command, else the settings'."""
    ctx = get_current_context(silent=True)
    before = ctx.meta.get(_URL_BEFORE_COMMAND) if ctx is not None else None
    return db or before or settings().database_url


@dataclasses.dataclass(frozen=True)
class Desk:
    """The open database and the agent at its keyboard, for one command."""

    engine: "Engine"
    agent: "AgentInfo"


@dataclasses.dataclass(frozen=True)
class AgentDesk:
    """The open database and who manages agents: an administrator, or None for the owner."""

    engine: "Engine"
    manager: "AgentInfo | None"


_DESK = "regie.desk"


def _opened(value: str | None, resolve: "Callable[[Any], Any]") -> tuple["Engine", Any]:
    """The database at ``value`` opened and ``resolve(session)``; failures as one French line."""
    from sqlalchemy.exc import DBAPIError

    from regie_tui.db import open_database, parse_url, session_scope

    try:
        engine = open_database(database_url(value))
        with session_scope(engine) as session:
            return engine, resolve(session)
    except RegieError as exc:
        fail(exc.message)
    except DBAPIError as exc:
        fail(error_message(exc, parse_url(database_url(value))))


def _desk_opener(permission: str) -> "Callable[[typer.Context, str | None], str | None]":
    """``--db``'s callback, eager: before any other argument is read, the database is opened,
    the agent at the keyboard resolved and ``permission`` checked against the role matrix;
    a stranger, a deactivated agent or a role without it stops here. (``permission`` is a
    :class:`~regie_tui.services.trust.access.Permission` value: the models load with the command.)"""

    def open_desk(ctx: typer.Context, value: str | None) -> str | None:
        if not ctx.resilient_parsing:
            from regie_tui.services.trust.access import Permission
            from regie_tui.services.trust.agents import current_agent

            def resolve(session: Any) -> "AgentInfo":
                agent = current_agent(session)
                agent.require(Permission(permission))
                return agent

            engine, agent = _opened(value, resolve)
            ctx.meta[_DESK] = Desk(engine, agent)
        return value

    return open_desk


def _open_agent_desk(ctx: typer.Context, value: str | None) -> str | None:
    """``--db``'s callback for agent management: an administrator, or the database's owner."""
    if not ctx.resilient_parsing:
        from regie_tui.services.trust.agents import agent_manager

        engine, manager = _opened(value, agent_manager)
        ctx.meta[_DESK] = AgentDesk(engine, manager)
    return value


#: ``--db`` of every command that works on the régie: the agent is resolved by its callback.
DbOption = Annotated[str | None, typer.Option("--db", help=DB_HELP, callback=_desk_opener("desk"), is_eager=True)]
#: ``--db`` of the portal's import (the desk's roles and the portal's own account).
ImportDbOption = Annotated[
    str | None, typer.Option("--db", help=DB_HELP, callback=_desk_opener("portal_import"), is_eager=True)
]
#: ``--db`` of agent management (an administrator, or the database's owner on PostgreSQL).
AgentDbOption = Annotated[str | None, typer.Option("--db", help=DB_HELP, callback=_open_agent_desk, is_eager=True)]
#: ``--db`` of the schema and the demo seed: no régie data read, no agent yet.
SchemaDbOption = Annotated[str | None, typer.Option("--db", help=DB_HELP)]


def desk() -> Desk:
    """The database and agent of the running command (resolved by ``--db``'s callback)."""
    found = get_current_context().meta[_DESK]
    assert isinstance(found, Desk)
    return found


def agent_desk() -> AgentDesk:
    """The database and manager of the running agent command (resolved by ``--db``'s callback)."""
    found = get_current_context().meta[_DESK]
    assert isinstance(found, AgentDesk)
    return found


# ------------------------------------------------------------------ errors and output


def french_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print expected failures (ours, a database out of reach, a file the system refuses) as
    one French line on stderr and exit 1, no traceback; any other exception is a bug and
    keeps its traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except RegieError as exc:
            fail(exc.message)
        except OSError as exc:  # a path too long, a folder given for a file, a full disk…
            where = f"« {str(exc.filename)[:80]} » : " if exc.filename is not None else ""
            fail(f"{where}{system_error(exc)}.")
        except Exception as exc:
            from sqlalchemy.exc import OperationalError

            from regie_tui.db import parse_url

            refused = refused_by_database(exc)
            if refused is not None:
                fail(refused)
            if not isinstance(exc, OperationalError):
                raise
            db = cast("str | None", kwargs.get("db"))  # every command's --db (DbOption)
            fail(error_message(exc, parse_url(database_url(db))))

    return wrapper


def fail(message: str) -> NoReturn:
    """One French line on stderr, exit status 1."""
    err.print(f"[bold red]Erreur :[/] {escape(visible(message))}", highlight=False, markup=True)
    raise typer.Exit(1) from None


#: Characters a terminal would obey rather than show (control characters, bidirectional
#: overrides) and bytes that were not UTF-8: shown as escapes in what the CLI prints back.
_UNSHOWABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str) -> str:
    """``text`` safe to print back to the agent: an escape sequence typed in a value is shown
    as ``\\x1b``, never played by the terminal."""
    return _UNSHOWABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not serialisable: {type(value)}")


def print_json(data: Any) -> None:
    """``data`` (dataclasses, lists of them, dicts) as indented JSON on stdout."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    elif isinstance(data, list):
        data = [dataclasses.asdict(d) if dataclasses.is_dataclass(d) and not isinstance(d, type) else d for d in data]
    sys.stdout.write(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2) + "\n")
