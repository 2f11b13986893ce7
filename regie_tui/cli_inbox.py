"""`regie inbox …`: commands of this room, registered on the main app by cli.py."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from regie_tui import cli
from regie_tui.cli import ImportDbOption, JsonOption, err, french_errors, out, print_json
from regie_tui.errors import system_error

inbox_app = typer.Typer(help="Bannette : ce que les familles envoient par le portail.", no_args_is_help=True)

#: Exit status when the file cannot be read at all (0: all lines fine, 1: some line rejected).
EXIT_UNREADABLE = 2


def _read_input(file: str) -> tuple[bytes, str]:
    """The bytes of FILE (``-``: standard input) and the name to keep; exit 2 if unreadable."""
    if file == "-":
        return sys.stdin.buffer.read(), "(entrée standard)"
    path = Path(file)
    try:
        return path.read_bytes(), path.name
    except OSError as exc:
        reasons = {
            FileNotFoundError: "fichier introuvable",
            IsADirectoryError: "c'est un dossier",
            PermissionError: "accès refusé",
        }
        reason = reasons.get(type(exc), system_error(exc))
        shown = escape(cli.visible(file))
        err.print(f"[bold red]Erreur :[/] impossible d'ouvrir « {shown} » : {reason}.", highlight=False, markup=True)
        raise typer.Exit(EXIT_UNREADABLE) from None


@inbox_app.command("import")
@french_errors
def inbox_import(
    file: Annotated[Path, typer.Argument(help="Fichier JSON Lines du portail (- : entrée standard).")],
    db: ImportDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Importe les demandes envoyées par le portail famille (une par ligne)."""
    data, name = _read_input(str(file))  # a path: its name may hold bytes that are not UTF-8

    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.portal.intake import import_submissions

    desk = cli.desk()
    with session_scope(desk.engine, write=True) as session:
        summary = import_submissions(session, data=data, filename=name, agent=desk.agent, now=clock.now())
    if as_json:
        print_json(summary.as_json())
    else:
        out.print(
            f"Lignes lues : {summary.read} · enregistrées : {summary.stored} · "
            f"déjà reçues : {summary.known} · rejetées : {len(summary.rejected)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        for r in summary.rejected:
            where = f"ligne {r.line} ({r.id})" if r.id is not None else f"ligne {r.line}"
            out.print(f"{where} : {r.reason}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(summary.exit_code)
