"""The bannette's item under the cursor, as the agent decides it, with a document's first
page (a PDF's text) or its picture read after it; and a document's file opened or saved."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from regie_tui import workers
from regie_tui.inbox_text import render_detail
from regie_tui.screens.base import Desk
from regie_tui.screens.dialogs import TextPrompt
from regie_tui.services.portal.inbox.item import document_content, pdf_first_page_text

if TYPE_CHECKING:
    from regie_tui.services.portal.inbox.item import ItemDetail
    from regie_tui.services.trust.agents import AgentInfo

#: A document's file: (name, content).
File = tuple[str, bytes]


class ItemView(VerticalScroll):
    """The item shown (``detail``), or a word when the list is empty."""

    def __init__(self) -> None:
        super().__init__(id="inbox-detail")
        self.detail: ItemDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="inbox-item")

    def _agent(self) -> AgentInfo:
        agent = cast(Desk, self.app).agent
        assert agent is not None
        return agent

    def show(self, detail: ItemDetail) -> None:
        """The item at once; a document's first page or picture follows (a second read)."""
        self.detail = detail
        for image in self.query(".inbox-image"):
            image.remove()
        self.query_one("#inbox-item", Static).update(render_detail(detail))
        if detail.document is None or not detail.document.readable:
            return
        if detail.document.media_type == "application/pdf":
            self._show_pdf_text(detail)
        else:
            self._show_image(detail.id)

    def show_empty(self) -> None:
        self.detail = None
        self.query_one("#inbox-item", Static).update("La bannette est vide pour ce filtre. Bon travail !")

    def _show_pdf_text(self, detail: ItemDetail) -> None:
        submission_id, agent = detail.id, self._agent()

        def show(text: str) -> None:
            if self.detail is detail:
                self.query_one("#inbox-item", Static).update(render_detail(detail, text))

        workers.read(
            self,
            lambda db: pdf_first_page_text(document_content(db, submission_id=submission_id, agent=agent)[1]),
            show,
            group="preview",
        )

    def _show_image(self, submission_id: int) -> None:
        agent = self._agent()

        def show(content: bytes) -> None:
            import io

            from PIL import Image as PILImage
            from textual_image.widget import Image

            if self.detail is None or self.detail.id != submission_id:
                return
            self.mount(Image(PILImage.open(io.BytesIO(content)), classes="inbox-image"))

        workers.read(
            self,
            lambda db: document_content(db, submission_id=submission_id, agent=agent)[1],
            show,
            group="image",
        )

    def with_document(self, deliver: Callable[[File], object]) -> None:
        """Read the shown document's file, then ``deliver`` it (a word when the item has none)."""
        detail = self.detail
        if detail is None or detail.document is None:
            self.notify("L'élément n'est pas un document.", timeout=4)
            return
        submission_id, agent = detail.id, self._agent()
        workers.read(
            self.screen,
            lambda db: document_content(db, submission_id=submission_id, agent=agent),
            deliver,
            group="load",
        )

    def open_document(self) -> None:
        """With the system's viewer where there is a display; else the agent saves it."""

        def opened(file: File) -> None:
            name, content = file
            viewer = shutil.which("xdg-open") or shutil.which("open")
            if not viewer or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                self.notify("Pas d'affichage graphique ici : enregistrez le fichier (s).", timeout=6)
                self.save_document()
                return
            folder = Path(tempfile.mkdtemp(prefix="regie-"))
            path = folder / Path(name).name
            path.write_bytes(content)
            subprocess.Popen([viewer, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.notify(f"Ouvert : {path}", timeout=4)

        self.with_document(opened)

    def save_document(self) -> None:
        """Where the agent says, never over an existing file."""
        self.with_document(lambda file: self._ask_path(file, str(Path.cwd() / file[0])))

    def _ask_path(self, file: File, proposed: str) -> None:
        name, content = file

        def chosen(path_text: str | None) -> None:
            if not path_text:
                return
            path = Path(path_text).expanduser()
            if path.is_dir():
                path = path / Path(name).name
            if path.exists():
                self.notify(f"{path} existe déjà : choisissez un autre nom.", severity="warning", timeout=6)
                self._ask_path(file, str(path))
                return
            try:
                path.write_bytes(content)
            except OSError as error:
                self.notify(f"Enregistrement impossible : {_os_error(error)}.", severity="error", timeout=8)
                self._ask_path(file, str(path))
                return
            self.notify(f"Document enregistré : {path}", timeout=5)

        self.app.push_screen(TextPrompt("Enregistrer le document sous (chemin)", proposed), chosen)


def _os_error(error: OSError) -> str:
    """A file error in French."""
    if isinstance(error, FileNotFoundError):
        return "ce dossier n'existe pas"
    if isinstance(error, PermissionError):
        return "accès refusé"
    if isinstance(error, IsADirectoryError):
        return "c'est un dossier"
    return "erreur d'écriture"
