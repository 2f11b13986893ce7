"""`regie seed`: a demo town (schema included) in an empty database."""

from typing import Annotated

import typer

from regie_tui import clock
from regie_tui.cli.common import SchemaDbOption, database_url, french_errors, out


@french_errors
def seed(
    db: SchemaDbOption = None,
    families: Annotated[int, typer.Option("--families", min=1, max=200_000, help="Nombre de familles.")] = 300,
    seed_value: Annotated[int, typer.Option("--seed", help="Graine : la même graine donne la même ville.")] = 1,
    admin: Annotated[
        str | None, typer.Option("--admin", help="Login de l'administrateur de la ville (défaut : le compte système).")
    ] = None,
) -> None:
    """Crée une ville de démonstration (schéma compris) dans une base vide."""
    from regie_tui.db import make_engine, upgrade
    from regie_tui.demo.seed import seed_demo_town
    from regie_tui.services.trust import identity

    engine = make_engine(database_url(db), create=True)
    upgrade(engine)
    summary = seed_demo_town(
        engine, families=families, seed=seed_value, today=clock.today(), admin_login=admin or identity.os_login()
    )
    for line in summary.lines():
        out.print(line, highlight=False)
