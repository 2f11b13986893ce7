"""Publications: the structure's documents and the news banner of the portal.

Two lists, each line with its state in words (en ligne, à venir, terminée, retirée).
Keys: n a new news item, d publish a document, w withdraw the selected line (after a
confirmation), tab the other list, Échap back. The forms check each field as typed
(dates JJ/MM/AAAA, end after start) and show the service's refusal without closing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Footer, Header, Input, Label, Static, TextArea

from regie_tui import formatting, workers
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen

if TYPE_CHECKING:
    from regie_tui.services.portal.publications import DocumentView, NewsView, Publications
    from regie_tui.workers import Db

T = TypeVar("T")

HINT = "  [dim](ctrl+s : enregistrer · Échap : annuler)[/]"
#: A glyph beside each state, so that it reads at a glance without colour.
STATE_GLYPHS = {"online": "●", "upcoming": "◔", "ended": "○", "withdrawn": "✗"}


@dataclass(frozen=True)
class Refused:
    """A change the service refused: its French reason (nothing was written)."""

    message: str


def _write(node: DOMNode, change: Callable[[Db], T], done: Callable[[T | Refused], object]) -> None:
    """``change`` in its own unit of work in a thread; a refusal comes back to ``done`` as :class:`Refused`."""
    workers.write(node, change, done, on_error=lambda message: done(Refused(message)))


# ----------------------------------------------------------------------------- forms


class FormScreen(ModalScreen[bool]):
    """A modal form: ctrl+s or ⏎ on the last field saves, Échap cancels; dismissed with True once saved."""

    CSS_PATH = "publications.tcss"
    BINDINGS: ClassVar = [
        Binding("ctrl+s", "save", "Enregistrer", id="form-save", tooltip="Vérifier et enregistrer"),
        Binding("escape", "cancel", "Annuler", id="form-cancel", tooltip="Fermer sans rien enregistrer"),
    ]
    HELP_TITLE = "Formulaire"

    def __init__(self, desk_today: date) -> None:
        super().__init__()
        self.today = desk_today
        self.saving = False

    def show_error(self, message: str, field_id: str | None = None) -> None:
        self.query_one(".form-error", Static).update(message)
        if field_id is not None:
            self.query_one(f"#{field_id}").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "form-ok":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        if not self.saving:  # once sent, wait for the answer: the form tells how it went
            self.dismiss(False)

    def action_save(self) -> None:
        """Each form saves its own fields through :meth:`save_with`."""
        raise NotImplementedError

    def save_with(self, change: Callable[[Db], object], error_field: Callable[[str], str | None]) -> None:
        """Run ``change`` in a worker; close on success, else show why at the field concerned."""
        if self.saving:
            return
        self.saving = True
        self.show_error("Enregistrement…")

        def done(result: object) -> None:
            self.saving = False
            if isinstance(result, Refused):
                self.show_error(result.message, error_field(result.message))
            else:
                self.dismiss(True)

        _write(self, change, done)

    def _value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value


class NewsForm(FormScreen):
    """Nouvelle actualité: title, text, first and last day shown (JJ/MM/AAAA)."""

    HELP_TITLE = "Nouvelle actualité"

    CSS_PATH = "publications.tcss"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Nouvelle actualité du portail{HINT}", classes="form-title")
            yield Label("Titre")
            yield Input(id="news-title", max_length=200, compact=True)
            yield Label("Texte")
            yield TextArea(id="news-text", soft_wrap=True, show_line_numbers=False, tab_behavior="focus", compact=True)
            with Horizontal(classes="form-dates"):
                with Vertical():
                    yield Label("Du (JJ/MM/AAAA)")
                    yield Input(
                        formatting.short_date(self.today), id="news-from", placeholder="JJ/MM/AAAA", compact=True
                    )
                with Vertical():
                    yield Label("Au (JJ/MM/AAAA)")
                    yield Input(id="news-to", placeholder="JJ/MM/AAAA", compact=True)
            yield Static("", classes="form-error")
            with Horizontal(classes="form-buttons"):
                yield Button("Publier", id="form-ok", variant="primary", compact=True)
                yield Button("Annuler", id="form-cancel-button", compact=True)

    def on_mount(self) -> None:
        self.query_one("#news-title").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "news-to":
            self.action_save()
        else:
            self.focus_next()

    def action_save(self) -> None:
        from regie_tui.services.common.validation import InvalidValue, parse_date
        from regie_tui.services.portal.publications import add_news

        title = self._value("news-title").strip()
        text = self.query_one("#news-text", TextArea).text.strip()
        if not title:
            self.show_error("Titre : obligatoire.", "news-title")
            return
        if not text:
            self.show_error("Texte : obligatoire.", "news-text")
            return
        try:
            start = parse_date(self._value("news-from"), "Du")
        except InvalidValue as exc:
            self.show_error(exc.message, "news-from")
            return
        try:
            end = parse_date(self._value("news-to"), "Au")
        except InvalidValue as exc:
            self.show_error(exc.message, "news-to")
            return
        agent = _agent_id(self)
        today = self.today

        def change(session: Db) -> int:
            return add_news(
                session, title=title, body=text, published_from=start, published_to=end, agent_id=agent, today=today
            )

        def field_of(message: str) -> str | None:
            if message.startswith("Titre"):
                return "news-title"
            if message.startswith("Texte"):
                return "news-text"
            return "news-to" if "date de fin" in message else None

        self.save_with(change, field_of)


class DocumentForm(FormScreen):
    """Publier un document: title, path of the file (PDF, JPEG, PNG), description, to return."""

    HELP_TITLE = "Publier un document"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Publier un document de la structure{HINT}", classes="form-title")
            yield Label("Titre")
            yield Input(id="document-title", max_length=200, compact=True)
            yield Label("Chemin du fichier (PDF, JPEG ou PNG, 10 Mo au plus)")
            yield Input(id="document-path", placeholder="/home/partage/projet-educatif.pdf", compact=True)
            yield Label("Description (facultative)")
            yield Input(id="document-description", max_length=1000, compact=True)
            yield Checkbox("À retourner rempli par les familles", id="document-to-return", compact=True)
            yield Static("", classes="form-error")
            with Horizontal(classes="form-buttons"):
                yield Button("Publier", id="form-ok", variant="primary", compact=True)
                yield Button("Annuler", id="form-cancel-button", compact=True)

    def on_mount(self) -> None:
        self.query_one("#document-title").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "document-description":
            self.action_save()
        else:
            self.focus_next()

    def action_save(self) -> None:
        from regie_tui.services.portal.publications import publish_document

        title = self._value("document-title").strip()
        path = self._value("document-path").strip()
        if not title:
            self.show_error("Titre : obligatoire.", "document-title")
            return
        if not path:
            self.show_error("Chemin du fichier : obligatoire.", "document-path")
            return
        description = self._value("document-description")
        to_return = self.query_one("#document-to-return", Checkbox).value
        agent = _agent_id(self)
        today = self.today

        def change(session: Db) -> int:
            return publish_document(
                session,
                path=path,
                title=title,
                description=description,
                to_return=to_return,
                agent_id=agent,
                today=today,
            )

        def field_of(message: str) -> str:
            if message.startswith("Titre"):
                return "document-title"
            if message.startswith("Description"):
                return "document-description"
            return "document-path"

        self.save_with(change, field_of)


def _agent_id(node: DOMNode) -> int:
    agent = getattr(node.app, "agent", None)
    if agent is None:
        raise RuntimeError("no agent: the database is not open")
    agent_id: int = agent.id
    return agent_id


# ----------------------------------------------------------------------------- screen


class PublicationsScreen(RegieScreen):
    """Documents de la structure above, Actualités below; tab goes from one list to the other."""

    HELP_TITLE = "Publications du portail"
    CSS_PATH = "publications.tcss"
    BINDINGS: ClassVar = [
        Binding("n", "new_news", "Actualité", id="new-news", tooltip="Ajouter une actualité au bandeau du portail"),
        Binding("d", "new_document", "Document", id="new-document", tooltip="Publier un document de la structure"),
        Binding("w", "withdraw", "Retirer", id="withdraw", tooltip="Retirer du portail la ligne sélectionnée"),
        Binding("tab", "switch_list", "Autre liste", id="switch-list", tooltip="Passer des documents aux actualités"),
        Binding("escape", "back", "Retour", id="back", tooltip="Revenir à l'écran précédent"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.publications: Publications | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Documents de la structure", classes="list-title", id="documents-title")
        yield DataTable(id="documents", cursor_type="row", zebra_stripes=True)
        yield Static("Actualités (bandeau du portail)", classes="list-title", id="news-title")
        yield DataTable(id="news", cursor_type="row", zebra_stripes=True)
        yield Static("Chargement…", id="publications-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Publications du portail"
        documents = self.query_one("#documents", DataTable)
        documents.add_columns("État", "Titre", "Publié le", "À retourner", "Fichier")
        news = self.query_one("#news", DataTable)
        news.add_columns("État", "Titre", "Du", "Au")
        documents.focus()
        self.refresh_lists()

    # ------------------------------------------------------------------- reading

    def refresh_lists(self) -> None:
        from regie_tui.services.portal.publications import list_publications

        today = self.desk.today
        self.load(lambda session: list_publications(session, today=today), self._show)

    def _show(self, publications: Publications) -> None:
        self.publications = publications
        documents = self.query_one("#documents", DataTable)
        row = documents.cursor_row
        documents.clear()
        for d in publications.documents:
            documents.add_row(
                _state(d),
                d.title,
                formatting.short_date(d.published_on),
                "oui" if d.to_return else "",
                d.filename,
                key=str(d.id),
            )
        documents.move_cursor(row=min(row, max(documents.row_count - 1, 0)))
        news = self.query_one("#news", DataTable)
        row = news.cursor_row
        news.clear()
        for n in publications.news:
            news.add_row(
                _state(n),
                n.title,
                formatting.short_date(n.published_from),
                formatting.short_date(n.published_to) or "—",
                key=str(n.id),
            )
        news.move_cursor(row=min(row, max(news.row_count - 1, 0)))
        online_documents = sum(d.state == "online" for d in publications.documents)
        online_news = sum(n.state == "online" for n in publications.news)
        self.query_one("#publications-status", Static).update(
            f"{len(publications.documents)} document(s), {online_documents} en ligne · "
            f"{len(publications.news)} actualité(s), {online_news} en ligne"
        )

    # ------------------------------------------------------------------- actions

    async def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            await self.app.run_action("app.dashboard")

    def action_switch_list(self) -> None:
        target = "#news" if self.focused is self.query_one("#documents") else "#documents"
        self.query_one(target, DataTable).focus()

    def _saved(self, message: str) -> Callable[[bool | None], None]:
        def after(saved: bool | None) -> None:
            if saved:
                self.notify(message, timeout=4)
                self.refresh_lists()

        return after

    def action_new_news(self) -> None:
        self.app.push_screen(NewsForm(self.desk.today), self._saved("Actualité publiée."))

    def action_new_document(self) -> None:
        self.app.push_screen(DocumentForm(self.desk.today), self._saved("Document publié."))

    def selected(self) -> DocumentView | NewsView | None:
        """The line under the cursor of the focused list (the documents' by default)."""
        if self.publications is None:
            return None
        news_table = self.query_one("#news", DataTable)
        on_news = self.focused is news_table
        table = news_table if on_news else self.query_one("#documents", DataTable)
        items: list[DocumentView] | list[NewsView] = self.publications.news if on_news else self.publications.documents
        if not items or not 0 <= table.cursor_row < len(items):
            return None
        return items[table.cursor_row]

    def action_withdraw(self) -> None:
        from regie_tui.services.portal.publications import NewsView, withdraw_document, withdraw_news

        item = self.selected()
        if item is None:
            self.notify("Aucune ligne sélectionnée.", severity="warning", timeout=3)
            return
        is_news = isinstance(item, NewsView)
        what = "l'actualité" if is_news else "le document"
        if item.withdrawn_at is not None:
            self.notify(f"{what.capitalize()} « {item.title} » est déjà retiré{'e' if is_news else ''}.", timeout=4)
            return
        agent = self.desk.agent
        assert agent is not None
        item_id = item.id

        def change(session: Db) -> None:
            if is_news:
                withdraw_news(session, news_id=item_id, agent_id=agent.id)
            else:
                withdraw_document(session, document_id=item_id, agent_id=agent.id)

        def done(result: object) -> None:
            if isinstance(result, Refused):
                self.notify(result.message, title="Retrait impossible", severity="error", timeout=8)
            else:
                self.notify(f"{what.capitalize()} « {item.title} » est retiré{'e' if is_news else ''} du portail.")
            self.refresh_lists()

        def confirmed(yes: bool | None) -> None:
            if yes:
                _write(self, change, done)

        question = (
            f"Retirer {what} « {item.title} » du portail ?\n"
            f"Il restera dans la liste, marqué{'e' if is_news else ''} « retiré{'e' if is_news else ''} »."
        )
        self.app.push_screen(ConfirmScreen(question, confirm="Retirer"), confirmed)


def _state(item: DocumentView | NewsView) -> str:
    return f"{STATE_GLYPHS[item.state]} {item.state_label}"
