"""A bannette item as the agent reads it (Rich markup): the screen's detail and `regie inbox show`."""

from rich.markup import escape

from regie_tui import formatting
from regie_tui.labels import SUBMISSION_KIND
from regie_tui.services.portal.inbox.item import ItemDetail


def render_detail(detail: ItemDetail, preview: str = "", *, keys: bool = True) -> str:
    """The item as the agent reads it (Rich markup); ``keys``: with the screen's keys for it."""
    at = formatting.local_datetime(detail.submitted_at)
    out = [
        f"[b]{SUBMISSION_KIND[detail.kind]}[/b] n° {detail.id} · {escape(detail.family_name)} "
        f"(famille n° {detail.family_id}) · reçu le {at}",
        f"[dim]par {escape(detail.account)}[/dim]",
    ]
    if detail.decided:
        out.append(f"[b]{escape(detail.decided)}[/b]")
    if detail.conflict:
        out.append(f"[reverse] ⚠ CONFLIT [/reverse] {escape(detail.conflict)}")
    for label, value in detail.lines:
        out.append(f"{escape(label)} : {escape(value)}" if value else f"[b]{escape(label)}[/b]")
    if detail.kind == "change" and not detail.conflict and any(label == "Valeur actuelle" for label, _ in detail.lines):
        out.append("✓ Le champ contient toujours la valeur vue par la famille.")
    if detail.enrollment is not None:
        e = detail.enrollment
        g = e.group
        fits = "✓ convient" if g.age_fits else "✗ ne convient pas"
        places = "sans limite" if g.places_left is None else f"{g.places_left} place(s) libre(s)"
        out += [
            f"Enfant : {escape(e.child_name)} · Activité : {escape(e.activity_name)} · {escape(e.period)}",
            f"Groupe demandé : {escape(g.name)} ({g.min_age}-{g.max_age} ans) · {places}",
            f"Âge au {formatting.short_date(e.first_day)} : {e.age_on_first_day} ans — {fits}",
        ]
        if e.already:
            out.append(f"⚠ Déjà inscrit(e) à cette activité : {escape(e.already)}")
    if detail.cells:
        ok = sum(1 for c in detail.cells if c.allowed)
        out.append(
            f"{len(detail.cells)} journée(s) : {ok} acceptable(s), {len(detail.cells) - ok} refusée(s) par les règles"
        )
        for c in detail.cells:
            verb = "réserver" if c.action == "book" else "annuler"
            places = "" if c.places_left is None else f" · {c.places_left} pl."
            notice = " · délai dépassé" if c.notice_passed else ""
            mark = "✓" if c.allowed and not c.waiting_list else ("◷ liste d'attente" if c.allowed else "✗")
            rule = f" — {escape(c.rule)}" if c.rule else ""
            out.append(f"  {mark} {formatting.short_date(c.day)} {escape(c.unit_name)} ({verb}){places}{notice}{rule}")
    if detail.document is not None:
        d = detail.document
        out += [
            f"Type : {escape(d.type_name)} · Pour : {escape(d.person)}",
            f"Fichier : {escape(d.filename)}"
            + (f" · {d.media_type} · {formatting.file_size(d.size)}" if d.readable else ""),
            f"Validité proposée : du {formatting.short_date(d.valid_from)} au {formatting.short_date(d.valid_to)}",
        ]
        if not d.readable:
            out.append("Document de santé : contenu réservé aux rôles accueil et administrateur.")
        elif keys:
            out.append("o : ouvrir · s : enregistrer sous")
        if preview:
            out += ["[b]Première page :[/b]", escape(preview[:1500])]
    if detail.body:
        out += ["", escape(detail.body)]
        if keys:
            out += ["", "e : répondre · a : marquer traité"]
    return "\n".join(out)
