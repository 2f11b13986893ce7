"""What families sent: documents and messages, decided (rows) or just sent (portal lines)."""

from datetime import date, datetime, timedelta
from typing import Any

from regie_tui.demo.generator import ChildDraft, GeneratorBase, Quotient
from regie_tui.services.families.search_words import fold

REFUSED_DOCUMENT = [
    "Document illisible, merci de le transmettre à nouveau.",
    "Le document ne concerne pas l'année en cours.",
    "Nom de l'enfant absent du document.",
]
MESSAGES = [
    (
        "Absence de {child}",
        "Bonjour, {child} sera absent(e) jusqu'à la fin de la semaine (certificat médical "
        "transmis par l'Espace famille). Pouvez-vous annuler ses réservations ? Merci.",
    ),
    (
        "Question sur la facture",
        "Bonjour, je ne comprends pas le montant de la dernière facture : {child} n'est "
        "pas allé(e) au périscolaire le soir pendant une semaine. Pouvez-vous vérifier ? Cordialement.",
    ),
    (
        "Inscription aux vacances",
        "Bonjour, je n'arrive pas à inscrire {child} aux vacances sur le portail : "
        "le groupe d'âge n'apparaît pas. Merci de votre aide.",
    ),
    (
        "Attestation pour les impôts",
        "Bonjour, pourriez-vous m'envoyer l'attestation de frais de garde de "
        "{child} pour ma déclaration de revenus ? Merci d'avance.",
    ),
    (
        "Changement d'horaires",
        "Bonjour, à partir du mois prochain je travaillerai le mercredi : {child} "
        "viendra à l'accueil du mercredi toute la journée. Est-ce possible ?",
    ),
    (
        "Paiement en plusieurs fois",
        "Bonjour, pouvons-nous régler la facture en deux fois ? Nous traversons une "
        "période difficile. Merci de votre compréhension.",
    ),
]
RECIPIENTS = ["Service enfance-jeunesse", "Régie", "Accueil de loisirs Les Lucioles"]
P_DOCUMENT_SENT = 0.02  # of the documents a family with a portal account sends: just sent, awaiting validation
REPLY = (
    "Bonjour, nous avons bien reçu votre message et l'avons transmis au service concerné. "
    "Nous revenons vers vous rapidement. Cordialement, le service enfance-jeunesse."
)


class InboxItems(GeneratorBase):
    """Documents and messages of a family."""

    def documents(self, family_id: int, children: list[ChildDraft], quotients: list[Quotient]) -> None:
        """Documents sent by the family (most accepted, ~5% awaiting validation), and the QF they prove."""
        self.quotient_rows(family_id, quotients)
        rng, year = self.rng, self.ref.year
        if rng.random() < 0.25:
            sent = self.between(year.start - timedelta(days=90), year.start)
            self.document_sent(
                family_id,
                None,
                "employeur",
                "attestation-employeur.pdf",
                sent,
                sent,
                sent.replace(year=sent.year + 1) - timedelta(days=1),
            )
        if rng.random() < 0.85:
            self.document_sent(
                family_id,
                None,
                "assurance",
                "assurance-responsabilite-civile.pdf",
                self.between(year.start - timedelta(days=60), year.start + timedelta(days=20)),
                year.start,
                year.end,
            )
        for child in children:
            if child.enrolled:
                self.child_documents(family_id, child)

    def quotient_rows(self, family_id: int, quotients: list[Quotient]) -> None:
        """The family's quotients, a CAF one with the attestation that proves it."""
        for value, valid_from, valid_to, source in quotients:
            document_id = None
            if source == "CAF":
                status = "expired" if valid_to < self.today else "accepted"
                submitted = self.some_time(min(valid_from + timedelta(days=self.randint(3, 40)), self.today))
                document_id = self.document(
                    family_id,
                    None,
                    "caf",
                    f"attestation-caf-{valid_from.year}.pdf",
                    status,
                    submitted,
                    valid_from,
                    valid_to,
                )
            self.add(
                "family_quotient",
                (
                    self.next_id("family_quotient"),
                    family_id,
                    value,
                    source,
                    self.w.day(valid_from),
                    self.w.day(valid_to),
                    document_id,
                ),
            )

    def child_documents(self, family_id: int, child: ChildDraft) -> None:
        """An enrolled child's vaccinations, health form (last year's expired, now and then) and PAI."""
        rng, year = self.rng, self.ref.year
        name = fold(child.first_name).replace(" ", "-")
        if rng.random() < 0.75:
            self.document_sent(
                family_id,
                child.id,
                "vaccins",
                f"vaccins-{name}.pdf",
                self.between(year.start - timedelta(days=80), year.start),
                None,
                None,
            )
        if rng.random() < 0.85:
            previous = year.start.replace(year=year.start.year - 1)
            if self.family_created < previous and rng.random() < 0.15:
                self.document(
                    family_id,
                    child.id,
                    "fiche_sanitaire",
                    f"fiche-sanitaire-{name}-{previous.year}.pdf",
                    "expired",
                    self.some_time(previous - timedelta(days=20)),
                    previous,
                    year.start - timedelta(days=1),
                )
            self.document_sent(
                family_id,
                child.id,
                "fiche_sanitaire",
                f"fiche-sanitaire-{name}.pdf",
                self.between(year.start - timedelta(days=70), year.start + timedelta(days=10)),
                year.start,
                year.end,
            )
        if child.pai:
            self.document_sent(
                family_id,
                child.id,
                "pai",
                f"pai-{name}.pdf",
                self.between(year.start, year.start + timedelta(days=40)),
                year.start,
                year.end,
            )

    def document_sent(
        self,
        family_id: int,
        child_id: int | None,
        type_code: str,
        filename: str,
        sent: date,
        valid_from: date | None,
        valid_to: date | None,
    ) -> None:
        """A document in its usual fate: accepted mostly, some refused, a few just sent on the portal.

        One just sent is a line of the portal's file (the sample PDF in base64), not a row.
        """
        rng = self.rng
        r = rng.random()
        if self.account is not None and (r < P_DOCUMENT_SENT or not self.counts["portal_document"]):
            sha256 = rng.choice(self.ref.document_files[type_code])
            keys: dict[str, Any] = {"document_type": self.ref.document_types[type_code]}
            if child_id is not None:
                keys["child"] = child_id
            self.submit(
                "document",
                self.recent(14),
                **keys,
                filename=filename,
                media_type="application/pdf",
                content_base64=self.content_base64(sha256),
            )
            return
        status = "refused" if r < 0.035 else "accepted"
        self.document(family_id, child_id, type_code, filename, status, self.some_time(sent), valid_from, valid_to)

    def document(
        self,
        family_id: int,
        child_id: int | None,
        type_code: str,
        filename: str,
        status: str,
        submitted: datetime,
        valid_from: date | None,
        valid_to: date | None,
    ) -> int:
        """A decided document (accepted, refused or expired) with the agent's decision."""
        rng, ref = self.rng, self.ref
        document_id = self.next_id("document")
        submitted = max(submitted, self.at(self.family_created + timedelta(days=1), 11))  # not before the file
        source = "portal" if rng.random() < 0.7 else "agent"
        decided_by = ref.accueil_id
        decided_at = min(submitted + timedelta(days=self.randint(1, 6)), self.now - timedelta(minutes=10))
        reason = rng.choice(REFUSED_DOCUMENT) if status == "refused" else ""
        self.audit(
            decided_at,
            decided_by,
            "agent",
            "decide",
            "document",
            document_id,
            {"status": "pending"},
            {"status": "refused" if status == "refused" else "accepted", "file": filename},
        )
        self.add(
            "document",
            (
                document_id,
                family_id,
                child_id,
                ref.document_types[type_code],
                rng.choice(ref.document_files[type_code]),
                filename,
                status,
                source,
                self.w.instant(submitted),
                self.w.day(valid_from),
                self.w.day(valid_to),
                decided_by,
                self.w.instant(decided_at),
                reason,
                1,
            ),
        )
        return document_id

    def messages(self, family_id: int, children: list[ChildDraft], payer: str) -> None:
        """'Contacter la structure': new ones (portal lines) for ~3% of families, answered ones for a few more."""
        rng = self.rng
        r = rng.random()
        if self.account is not None and not self.counts["portal_message"]:
            r = 0.0
        if r >= 0.09:
            return
        subject, body = rng.choice(MESSAGES)
        child = rng.choice(children).first_name
        recipient = rng.choice(RECIPIENTS)
        if r < 0.03:
            if self.account is not None:
                subject, body = subject.format(child=child), body.format(child=child)
                self.submit("message", self.recent(7), subject=subject, body=body, recipient=recipient)
            return
        message_id = self.next_id("message")
        sent = self.recent(60)
        read = min(sent + timedelta(hours=self.randint(2, 48)), self.now - timedelta(minutes=15))
        self.add(
            "message",
            (
                message_id,
                family_id,
                "incoming",
                recipient,
                subject.format(child=child),
                body.format(child=child),
                self.w.instant(sent),
                self.w.instant(read),
                self.ref.accueil_id,
                None,
            ),
        )
        self.add(
            "message",
            (
                self.next_id("message"),
                family_id,
                "outgoing",
                payer,
                "Re : " + subject.format(child=child),
                REPLY,
                self.w.instant(min(read + timedelta(minutes=20), self.now - timedelta(minutes=10))),
                None,
                None,
                message_id,
            ),
        )
