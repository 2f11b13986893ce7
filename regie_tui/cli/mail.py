"""`regie mail …`: the outbox of mails to families, sent over SMTP, listed, requeued."""

import dataclasses
from typing import Annotated

import typer

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, fail, french_errors, out, print_json

mail_app = typer.Typer(help="Courriels aux familles (boîte d'envoi).", no_args_is_help=True)

STATUS_CHOICES = {"to_send": "à envoyer", "sending": "en cours", "sent": "envoyés", "failed": "échecs"}


@mail_app.command("send")
@french_errors
def mail_send(
    host: Annotated[str | None, typer.Option("--host", help="Serveur SMTP (défaut : REGIE_SMTP_HOST).")] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port (défaut : REGIE_SMTP_PORT, sinon selon la sécurité)."),
    ] = None,
    security: Annotated[
        str | None,
        typer.Option("--security", help="starttls, tls ou none (défaut : REGIE_SMTP_SECURITY, sinon starttls)."),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Identifiant SMTP (défaut : REGIE_SMTP_USER).")] = None,
    sender: Annotated[
        str | None, typer.Option("--sender", help="Adresse d'expédition (défaut : REGIE_SMTP_SENDER).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Envoie les courriels en attente (le mot de passe SMTP : REGIE_SMTP_PASSWORD)."""
    from regie_tui.clock import utc_now
    from regie_tui.db import for_writing
    from regie_tui.services.portal.sending import SmtpSettings, send_outbox

    smtp = SmtpSettings.from_env(host=host, port=port, security=security, user=user, sender=sender)
    report = send_outbox(for_writing(common.desk().engine), smtp=smtp, now=utc_now)
    for mail in report.interrupted:
        out.print(
            f"Courriel n° {mail.mail_id} à {mail.to_address} : {mail.error} (puis : regie mail retry {mail.mail_id}).",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    for mail in report.failed:
        out.print(
            f"Échec du courriel n° {mail.mail_id} à {mail.to_address} : {mail.error}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    out.print(f"Envoyés : {report.sent} · échecs : {len(report.failed) + len(report.interrupted)}", highlight=False)
    if report.stopped:
        fail(f"Envoi arrêté : {report.stopped}. Les courriels restants partiront au prochain envoi.")
    if not report.ok:
        raise typer.Exit(1)


@mail_app.command("list")
@french_errors
def mail_list(
    status: Annotated[
        str | None, typer.Option("--status", help="to_send (à envoyer), sent (envoyés), failed (échecs) ou sending.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="Nombre de courriels, les plus récents.")
    ] = 200,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Liste les courriels de la boîte d'envoi, les plus récents d'abord."""
    from rich.table import Table
    from rich.text import Text

    from regie_tui import formatting
    from regie_tui.codes import MailStatus
    from regie_tui.db import session_scope
    from regie_tui.services.portal.outbox import outbox_page

    if status is not None and status not in STATUS_CHOICES:
        fail(f"État inconnu « {status} » : choisissez parmi {', '.join(STATUS_CHOICES)}.")
    engine = common.desk().engine
    with session_scope(engine) as session:
        rows = outbox_page(session, status=MailStatus(status) if status else None, limit=limit)
    if as_json:
        print_json([dataclasses.asdict(mail) | {"state": mail.state} for mail in rows])
        return
    table = Table("N°", "Date", "Famille", "Destinataire", "Objet", "État")
    for mail in rows:
        cells = (mail.family_name, mail.to_address, mail.subject, mail.state)
        table.add_row(str(mail.id), formatting.local_datetime(mail.created_at), *(Text(cell) for cell in cells))
    out.print(table)
    out.print(f"{len(rows)} courriel(s).", highlight=False)


@mail_app.command("retry")
@french_errors
def mail_retry(
    mail_id: Annotated[int, common.id_argument("Numéro du courriel (regie mail list).")],
    db: DbOption = None,
) -> None:
    """Remet en attente d'envoi un courriel en échec ou interrompu."""
    from regie_tui.db import session_scope
    from regie_tui.services.portal.outbox import requeue

    desk = common.desk()
    with session_scope(desk.engine, write=True) as session:
        requeue(session, mail_id=mail_id, agent_id=desk.agent.id)
    out.print(f"Courriel n° {mail_id} remis en attente : il partira au prochain « regie mail send ».", highlight=False)
