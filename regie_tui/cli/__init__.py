"""The `regie` command: opens the app, or runs one task (schema, seed, agents, read-outs…).

This module builds the root app and registers every command group, here and nowhere
else; each group lives in its own module and imports only :mod:`regie_tui.cli.common`
(and :mod:`regie_tui.cli.french`).
"""

import typer

from regie_tui.cli.agent import agent_app
from regie_tui.cli.booking import booking_app
from regie_tui.cli.common import SchemaDbOption, database_url, fail, french_errors, remember_url_before_command
from regie_tui.cli.family import family_app
from regie_tui.cli.french import frenchify_click, refuse_unclear_values
from regie_tui.cli.inbox import inbox_app
from regie_tui.cli.invoices import invoices_app
from regie_tui.cli.mail import mail_app
from regie_tui.cli.occupancy import occupancy
from regie_tui.cli.payments import payments_app
from regie_tui.cli.publish import publish_app
from regie_tui.cli.rates import rates_app
from regie_tui.cli.reminders import reminders_app
from regie_tui.cli.rgpd import rgpd_app
from regie_tui.cli.roster import roster_command
from regie_tui.cli.schema import db_app
from regie_tui.cli.seed import seed
from regie_tui.cli.sepa import sepa_app

__all__ = ["app", "main"]

frenchify_click()
refuse_unclear_values()
app = typer.Typer(
    help="Régie enfance : familles, bannette, réservations, facturation.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback(invoke_without_command=True)
@french_errors
def run(ctx: typer.Context, db: SchemaDbOption = None) -> None:
    """Sans commande : ouvre l'application sur la base."""
    remember_url_before_command(ctx, db)
    if ctx.invoked_subcommand is not None:
        return
    import textual_image.widget  # noqa: F401  (asks the terminal what images it can show: before Textual starts)

    from regie_tui.app import create_app

    # The app paints its first screen, then opens the database in a worker.
    tui = create_app(database_url=database_url(db))
    tui.run()
    if tui.startup_error:
        fail(tui.startup_error)


app.add_typer(db_app, name="db")
app.add_typer(agent_app, name="agent")
app.add_typer(family_app, name="family")
app.command("seed")(seed)
app.add_typer(inbox_app, name="inbox")
app.add_typer(mail_app, name="mail")
app.add_typer(publish_app, name="publish")
app.add_typer(booking_app, name="booking")
app.add_typer(invoices_app, name="invoices")
app.command("roster")(roster_command)
app.command("occupancy")(occupancy)
app.add_typer(payments_app, name="payments")
app.add_typer(rates_app, name="rates")
app.add_typer(reminders_app, name="reminders")
app.add_typer(sepa_app, name="sepa")
app.add_typer(rgpd_app, name="rgpd")


def main() -> None:
    """The console script `regie`."""
    app(prog_name="regie")
