"""`regie inbox …`: the bannette. The portal's file imported (`import`), then its items listed,
shown and decided (`list`, `show`, `accept`, `refuse`) and the refusal templates kept.

Same services, same refusals and conflicts as the screen; a decision's exit status is 1
when nothing was done.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, ImportDbOption, JsonOption, err, fail, french_errors, out, print_json
from regie_tui.errors import system_error

if TYPE_CHECKING:
    from regie_tui.services.portal.inbox.decisions import Decision
    from regie_tui.services.portal.inbox.item import ItemDetail

inbox_app = typer.Typer(help="Bannette : ce que les familles envoient par le portail.", no_args_is_help=True)

#: Exit status when the file cannot be read at all (0: all lines fine, 1: some line rejected).
EXIT_UNREADABLE = 2

ItemArgument = Annotated[int, common.id_argument("Numéro de l'élément de la bannette (voir regie inbox list).")]

# ------------------------------------------------------------------ the portal's file


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
        shown = escape(common.visible(file))
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
    from regie_tui.services.portal.intake.run import import_submissions

    current = common.desk()
    with session_scope(current.engine, write=True) as session:
        summary = import_submissions(session, data=data, filename=name, agent=current.agent, now=clock.now())
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


# ------------------------------------------------------------------ the pending items


@inbox_app.command("list")
@french_errors
def inbox_list(
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="changes, documents, enrollment_requests, booking_requests, messages ou payments.",
        ),
    ] = None,
    family: Annotated[int | None, common.id_option("--family", "Numéro de famille.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Les éléments en attente, du plus ancien au plus récent."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.portal.inbox.listing import InboxFilter, inbox_page
    from regie_tui.services.portal.pending import KINDS

    if kind is not None and kind not in KINDS:
        fail(f"Type inconnu : « {kind} ». Types : {', '.join(KINDS)}.")
    with session_scope(common.desk().engine) as session:
        page = inbox_page(session, filters=InboxFilter(kind=kind), grouping="family", now=clock.now(), limit=100_000)
    rows = [row for row in page.rows if family is None or row.family_id == family]
    if as_json:
        print_json(
            [
                {
                    "id": row.id,
                    "kind": row.kind,
                    "family": row.family_id,
                    "family_name": row.family_name,
                    "submitted_at": row.submitted_at,
                    "summary": row.summary,
                }
                for row in rows
            ]
        )
        return
    from regie_tui import formatting

    for row in rows:
        out.print(
            f"{row.id:>7}  {formatting.local_datetime(row.submitted_at)}  {row.family_name[:24]:<24}  {row.summary}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    out.print(f"{len(rows)} élément(s) en attente.", highlight=False)


@inbox_app.command("show")
@french_errors
def inbox_show(item: ItemArgument, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Un élément, vérifié contre la fiche telle qu'elle est maintenant."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.portal.inbox.item import item_detail

    with session_scope(common.desk().engine) as session:
        detail = item_detail(session, submission_id=item, agent=common.desk().agent, now=clock.now())
    if as_json:
        print_json(_detail_json(detail))
        return
    from regie_tui.inbox_text import render_detail

    out.print(render_detail(detail, keys=False), highlight=False, soft_wrap=True, markup=True)


def _detail_json(detail: "ItemDetail") -> dict[str, Any]:
    """The item for scripts (its key "enrolment" is the JSON's, read by the scripts as it is)."""
    import dataclasses

    data = {
        key: value
        for key, value in dataclasses.asdict(detail).items()
        if key not in ("cells", "enrolment", "document", "lines")
    }
    data["lines"] = [{"label": label, "value": value} for label, value in detail.lines]
    data["cells"] = [dataclasses.asdict(cell) for cell in detail.cells]
    data["enrolment"] = dataclasses.asdict(detail.enrollment) if detail.enrollment is not None else None
    data["document"] = dataclasses.asdict(detail.document) if detail.document is not None else None
    return data


# ------------------------------------------------------------------ decisions


def _print_decision(decision: "Decision", as_json: bool) -> None:
    if as_json:
        print_json(decision)
        return
    out.print(decision.message, highlight=False, markup=False, soft_wrap=True)
    for line in decision.details:
        out.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if decision.mail_id is not None:
        out.print(f"Courriel à la famille en boîte d'envoi (n° {decision.mail_id}).", highlight=False)


#: What to type for each choice the bannette may ask before accepting.
CHOICE_HINTS = {
    "force": "--force pour appliquer la demande",
    "group": "--group N pour un autre groupe",
    "waiting_list": "--waiting-list pour la liste d'attente",
    "refuse": "regie inbox refuse pour refuser",
}


@inbox_app.command("accept")
@french_errors
def inbox_accept(
    item: ItemArgument,
    group: Annotated[int | None, common.id_option("--group", "Inscription : un autre groupe (son numéro).")] = None,
    waiting_list: Annotated[
        bool, typer.Option("--waiting-list", help="Inscription dans un groupe complet : sur liste d'attente.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Modification : appliquer même si le champ a changé depuis.")
    ] = False,
    valid_from: Annotated[str | None, typer.Option("--valid-from", help="Document : valable du (JJ/MM/AAAA).")] = None,
    valid_to: Annotated[str | None, typer.Option("--valid-to", help="Document : valable au (JJ/MM/AAAA).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Accepte l'élément : il est appliqué à la fiche, la famille est prévenue par courriel."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.portal.inbox.accepting import AcceptChoice, NeedsChoice
    from regie_tui.services.portal.inbox.decisions import accept

    choice = AcceptChoice(
        force=force,
        group_id=group,
        waiting_list=waiting_list,
        valid_from=common.day(valid_from, "Valable du") if valid_from is not None else None,
        valid_to=common.day(valid_to, "Valable au") if valid_to is not None else None,
    )
    try:
        with session_scope(common.desk().engine, write=True) as session:
            agent = common.desk().agent
            decision = accept(session, submission_id=item, agent=agent, now=clock.now(), choice=choice)
    except NeedsChoice as needs:
        message = escape(common.visible(needs.message))
        err.print(f"[bold red]Rien n'a été fait :[/] {message}", highlight=False, markup=True, soft_wrap=True)
        err.print(
            "Choix : " + " ; ".join(CHOICE_HINTS[o] for o in needs.options if o in CHOICE_HINTS) + ".",
            highlight=False,
        )
        raise typer.Exit(1) from None
    _print_decision(decision, as_json)


@inbox_app.command("refuse")
@french_errors
def inbox_refuse(
    item: ItemArgument,
    reason: Annotated[str, typer.Option("--reason", help="Motif, lu par la famille (obligatoire).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Refuse l'élément avec un motif ; la famille est prévenue par courriel."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.portal.inbox.decisions import refuse

    with session_scope(common.desk().engine, write=True) as session:
        agent = common.desk().agent
        decision = refuse(session, submission_id=item, agent=agent, reason=reason, now=clock.now())
    _print_decision(decision, as_json)


# ------------------------------------------------------------------ refusal templates


@inbox_app.command("templates")
@french_errors
def inbox_templates(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Les motifs de refus tout prêts."""
    from regie_tui.db import session_scope
    from regie_tui.labels import SUBMISSION_KIND
    from regie_tui.services.portal.inbox.templates import refusal_templates

    with session_scope(common.desk().engine) as session:
        templates = refusal_templates(session)
    if as_json:
        print_json(templates)
        return
    for t in templates:
        kind = SUBMISSION_KIND[t.kind] if t.kind else "Tous"
        out.print(f"{t.id:>4}  {kind:<18} {t.text}", highlight=False, markup=False, soft_wrap=True)


@inbox_app.command("template-add")
@french_errors
def inbox_template_add(
    text: Annotated[str, typer.Argument(help="Le motif, tel que la famille le lira.")],
    kind: Annotated[str | None, typer.Option("--kind", help="change, document, enrolment, booking…")] = None,
    db: DbOption = None,
) -> None:
    """Ajoute un motif de refus tout prêt."""
    from regie_tui.db import session_scope
    from regie_tui.labels import SUBMISSION_KIND
    from regie_tui.services.portal.inbox.templates import save_template

    if kind is not None and kind not in SUBMISSION_KIND:
        fail(f"Type inconnu : « {kind} ». Types : {', '.join(SUBMISSION_KIND)}.")
    with session_scope(common.desk().engine, write=True) as session:
        template_id = save_template(session, text=text, kind=kind, agent=common.desk().agent)
    out.print(f"Motif n° {template_id} ajouté.", highlight=False)


@inbox_app.command("template-withdraw")
@french_errors
def inbox_template_withdraw(
    template: Annotated[int, common.id_argument("Numéro du motif.")], db: DbOption = None
) -> None:
    """Retire un motif de refus (il n'est plus proposé)."""
    from regie_tui.db import session_scope
    from regie_tui.services.portal.inbox.templates import withdraw_template

    with session_scope(common.desk().engine, write=True) as session:
        withdraw_template(session, template_id=template, agent=common.desk().agent)
    out.print(f"Motif n° {template} retiré.", highlight=False)
