"""`regie inbox list|show|accept|refuse|templates…`: the bannette's decisions, for scripts.

Same service, same refusals and conflicts as the screen; the exit status is 1 when
nothing was done. Registered on `regie inbox` beside the import (cli_inbox.py).
"""

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from regie_tui import cli
from regie_tui.cli import DbOption, JsonOption, err, fail, french_errors, out, print_json
from regie_tui.cli_inbox import inbox_app

if TYPE_CHECKING:
    from regie_tui.services.portal.inbox import Decision, ItemDetail

ItemArgument = Annotated[int, cli.id_argument("Numéro de l'élément de la bannette (voir regie inbox list).")]


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
    family: Annotated[int | None, cli.id_option("--family", "Numéro de famille.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Les éléments en attente, du plus ancien au plus récent."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.portal.inbox import InboxFilter, inbox_page
    from regie_tui.services.portal.pending import KINDS

    if kind is not None and kind not in KINDS:
        fail(f"Type inconnu : « {kind} ». Types : {', '.join(KINDS)}.")
    with session_scope(cli.desk().engine) as session:
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
    from regie_tui.services.portal.inbox import item_detail

    with session_scope(cli.desk().engine) as session:
        detail = item_detail(session, submission_id=item, agent=cli.desk().agent, now=clock.now())
    if as_json:
        print_json(_detail_json(detail))
        return
    from regie_tui.inbox_text import render_detail

    out.print(render_detail(detail, keys=False), highlight=False, soft_wrap=True, markup=True)


def _detail_json(detail: "ItemDetail") -> dict[str, Any]:
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


def _print_decision(decision: "Decision", as_json: bool) -> None:
    if as_json:
        print_json(decision)
        return
    out.print(decision.message, highlight=False, markup=False, soft_wrap=True)
    for line in decision.details:
        out.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if decision.mail_id is not None:
        out.print(f"Courriel à la famille en boîte d'envoi (n° {decision.mail_id}).", highlight=False)


@inbox_app.command("accept")
@french_errors
def inbox_accept(
    item: ItemArgument,
    group: Annotated[int | None, cli.id_option("--group", "Inscription : un autre groupe (son numéro).")] = None,
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
    from regie_tui.services.portal.inbox import AcceptChoice, NeedsChoice, accept

    choice = AcceptChoice(
        force=force,
        group_id=group,
        waiting_list=waiting_list,
        valid_from=cli.day(valid_from, "Valable du") if valid_from is not None else None,
        valid_to=cli.day(valid_to, "Valable au") if valid_to is not None else None,
    )
    try:
        with session_scope(cli.desk().engine, write=True) as session:
            agent = cli.desk().agent
            decision = accept(session, submission_id=item, agent=agent, now=clock.now(), choice=choice)
    except NeedsChoice as needs:
        hints = {
            "force": "--force pour appliquer la demande",
            "group": "--group N pour un autre groupe",
            "waiting_list": "--waiting-list pour la liste d'attente",
            "refuse": "regie inbox refuse pour refuser",
        }
        message = escape(cli.visible(needs.message))
        err.print(f"[bold red]Rien n'a été fait :[/] {message}", highlight=False, markup=True, soft_wrap=True)
        err.print("Choix : " + " ; ".join(hints[o] for o in needs.options if o in hints) + ".", highlight=False)
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
    from regie_tui.services.portal.inbox import refuse

    with session_scope(cli.desk().engine, write=True) as session:
        agent = cli.desk().agent
        decision = refuse(session, submission_id=item, agent=agent, reason=reason, now=clock.now())
    _print_decision(decision, as_json)


@inbox_app.command("templates")
@french_errors
def inbox_templates(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Les motifs de refus tout prêts."""
    from regie_tui.db import session_scope
    from regie_tui.labels import SUBMISSION_KIND
    from regie_tui.services.portal.inbox import refusal_templates

    with session_scope(cli.desk().engine) as session:
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
    from regie_tui.services.portal.inbox import save_template

    if kind is not None and kind not in SUBMISSION_KIND:
        fail(f"Type inconnu : « {kind} ». Types : {', '.join(SUBMISSION_KIND)}.")
    with session_scope(cli.desk().engine, write=True) as session:
        template_id = save_template(session, text=text, kind=kind, agent=cli.desk().agent)
    out.print(f"Motif n° {template_id} ajouté.", highlight=False)


@inbox_app.command("template-withdraw")
@french_errors
def inbox_template_withdraw(template: Annotated[int, cli.id_argument("Numéro du motif.")], db: DbOption = None) -> None:
    """Retire un motif de refus (il n'est plus proposé)."""
    from regie_tui.db import session_scope
    from regie_tui.services.portal.inbox import withdraw_template

    with session_scope(cli.desk().engine, write=True) as session:
        withdraw_template(session, template_id=template, agent=cli.desk().agent)
    out.print(f"Motif n° {template} retiré.", highlight=False)
