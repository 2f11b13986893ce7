"""`regie publish …`: the portal's structure documents and news."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regie_tui import clock, formatting
from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, french_errors, out, print_json

publish_app = typer.Typer(
    help="Publications du portail : documents de la structure et actualités.", no_args_is_help=True
)


class Kind(StrEnum):
    NEWS = "news"
    DOCUMENT = "document"


@publish_app.command("list")
@french_errors
def publish_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Liste les documents de la structure et les actualités (en ligne, à venir, terminées, retirées)."""
    from regie_tui.db import session_scope
    from regie_tui.services.portal.publications import list_publications

    today = clock.today()
    engine = common.desk().engine
    with session_scope(engine) as session:
        found = list_publications(session, today=today)
    if as_json:
        print_json(
            {
                "documents": [_with_state(d, d.state_label) for d in found.documents],
                "news": [_with_state(n, n.state_label) for n in found.news],
            }
        )
        return
    documents = Table("N°", "Titre", "Fichier", "Publié le", "À retourner", "État", title="Documents de la structure")
    for d in found.documents:
        documents.add_row(
            str(d.id),
            d.title,
            d.filename,
            formatting.short_date(d.published_on),
            "oui" if d.to_return else "",
            d.state_label,
        )
    news = Table("N°", "Titre", "Du", "Au", "État", title="Actualités")
    for n in found.news:
        news.add_row(
            str(n.id),
            n.title,
            formatting.short_date(n.published_from),
            formatting.short_date(n.published_to),
            n.state_label,
        )
    out.print(documents)
    out.print(news)
    out.print(f"{len(found.documents)} document(s), {len(found.news)} actualité(s).", highlight=False)


def _with_state(item: Any, state_label: str) -> dict[str, Any]:
    import dataclasses

    data = dataclasses.asdict(item)
    data["state_label"] = state_label
    return data


@publish_app.command("news")
@french_errors
def publish_news(
    title: Annotated[str, typer.Option("--title", help="Titre de l'actualité.")],
    text: Annotated[str, typer.Option("--text", help="Texte affiché sur le portail.")],
    start: Annotated[str, typer.Option("--from", help="Premier jour d'affichage (JJ/MM/AAAA).")],
    end: Annotated[str, typer.Option("--to", help="Dernier jour d'affichage (JJ/MM/AAAA).")],
    db: DbOption = None,
) -> None:
    """Ajoute une actualité au bandeau du portail."""
    from regie_tui.db import session_scope
    from regie_tui.services.portal.publications import add_news

    published_from = common.day(start, "Date de début")
    published_to = common.day(end, "Date de fin")
    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        news_id = add_news(
            session,
            title=title,
            body=text,
            published_from=published_from,
            published_to=published_to,
            agent_id=agent.id,
            today=clock.today(),
        )
    out.print(
        f"Actualité n° {news_id} « {title.strip()} » publiée du {formatting.short_date(published_from)} "
        f"au {formatting.short_date(published_to)}.",
        highlight=False,
    )


@publish_app.command("document")
@french_errors
def publish_document(
    file: Annotated[
        Path, typer.Argument(help="Fichier à publier (PDF, JPEG ou PNG, 10 Mo au plus).", metavar="FICHIER")
    ],
    title: Annotated[str, typer.Option("--title", help="Titre du document.")],
    description: Annotated[str, typer.Option("--description", help="Description affichée sous le titre.")] = "",
    to_return: Annotated[
        bool, typer.Option("--to-return", help="Les familles doivent renvoyer ce document rempli.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Publie un document de la structure sur le portail."""
    from regie_tui.db import session_scope
    from regie_tui.services.portal import publications

    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        document_id = publications.publish_document(
            session,
            path=file,
            title=title,
            description=description,
            to_return=to_return,
            agent_id=agent.id,
            today=clock.today(),
        )
    back = " (à retourner par les familles)" if to_return else ""
    out.print(f"Document n° {document_id} « {title.strip()} » publié{back}.", highlight=False)


@publish_app.command("withdraw")
@french_errors
def publish_withdraw(
    kind: Annotated[Kind, typer.Argument(help="news (actualité) ou document.", metavar="TYPE")],
    item_id: Annotated[
        int, common.id_argument("Numéro de l'actualité ou du document (regie publish list).", metavar="NUMÉRO")
    ],
    db: DbOption = None,
) -> None:
    """Retire une actualité ou un document du portail (il reste dans la liste, « retiré »)."""
    from regie_tui.db import session_scope
    from regie_tui.services.portal.publications import withdraw_document, withdraw_news

    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        if kind is Kind.NEWS:
            withdraw_news(session, news_id=item_id, agent_id=agent.id)
        else:
            withdraw_document(session, document_id=item_id, agent_id=agent.id)
    what = "Actualité" if kind is Kind.NEWS else "Document"
    out.print(f"{what} n° {item_id} retiré{'e' if kind is Kind.NEWS else ''} du portail.", highlight=False)
