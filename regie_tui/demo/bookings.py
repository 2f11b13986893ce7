"""Enrollments and a school year of bookings: weekly habits, noise, attendance before today."""

from datetime import date, datetime, timedelta
from typing import Any

from regie_tui.demo.activities import ActivityInfo, DayInfo, GroupInfo
from regie_tui.demo.generator import ChildDraft, GeneratorBase

# Weekly habits and their noise.
P_CANCEL = 0.03  # a habitual cell the family cancelled in time
P_EXTRA = 0.02  # an extra booking outside the habit
P_SPECIAL = 0.01  # a presence without booking, on a unit that has a surcharge
P_WEDNESDAY = 0.88
P_HOLIDAY_WEEK = 0.7
P_HOLIDAY_DAY = 0.9

# Portal requests, per enrollment of a family with a portal account (the bannette's share of the town).
P_ENROLLMENT_REQUEST = 0.005  # an enrollment asked for and not decided yet
P_HOLIDAY_REQUEST = 0.008  # a future holiday's days asked for
P_CHANGE_OF_PLANS = 0.006  # cells booked and cancelled in the next weeks
CHANGE_HORIZON_DAYS = 21
MAX_CELLS = 400  # per portal line (portal-submissions.md)

# How the enrollment's future cells are written: (state, source, decided by (agent id), decided at (driver's form)).
Future = tuple[str, str, int | None, Any]


class Bookings(GeneratorBase):
    """A child's enrollments and the cells of its reservation grid."""

    def enrollments(self, child: ChildDraft, resident: bool, school: dict[str, Any], portal: bool) -> None:
        """Enrol the child where its school and age fit, and book the accepted enrollments."""
        rng = self.rng
        young = child.level in ("maternelle", "elementaire")
        wanted: list[tuple[ActivityInfo, float]] = []
        if resident and young:
            wanted += [(a, 0.92 if a.kind == "after_school" else 0.97) for a in self.school_activities[school["code"]]]
        wanted += [(a, 0.72 if young else 0.12) for a in self.wednesday]
        wanted += [(a, 0.7 if young else 0.2) for a in self.holidays]
        source = "portal" if portal and rng.random() < 0.7 else "agent"
        for activity, p in wanted:
            if rng.random() >= p:
                continue
            group = self.group(activity, child)
            if group is None:
                continue
            enrollment = self.enrollment(child, activity, group, source)
            if enrollment is not None:
                child.enrolled = True
                self.book(child, activity, group, *enrollment, source)

    @staticmethod
    def group(activity: ActivityInfo, child: ChildDraft) -> GroupInfo | None:
        """The age group of the child at the activity's start, preferring its school level's."""
        on = activity.start
        age = on.year - child.birth.year - ((on.month, on.day) < (child.birth.month, child.birth.day))
        fitting = [g for g in activity.groups if g.min_age <= age <= g.max_age]
        preferred = [g for g in fitting if g.level == child.level]
        candidates = preferred or fitting
        return candidates[0] if candidates else None

    def enrollment(
        self, child: ChildDraft, activity: ActivityInfo, group: GroupInfo, source: str
    ) -> tuple[int, datetime] | None:
        """Write the enrollment; (id, decision time) when accepted, so that it gets booked."""
        rng, ref = self.rng, self.ref
        r = rng.random()
        if activity.end < self.today:
            status = "accepted" if r < 0.97 else "refused"
        elif self.account is not None and (r < P_ENROLLMENT_REQUEST or not self.counts["portal_enrolment"]):
            # Asked on the portal, not decided yet: a line of the portal's file (never empty of them).
            self.submit("enrolment", self.recent(12), child=child.id, activity=activity.id, age_group=group.id)
            return None
        else:
            status = "waiting" if r < 0.03 else "refused" if r < 0.035 else "accepted"
        enrollment_id = self.next_id("enrollment")
        self.counts["enrollments"] += 1
        requested, decided = self._request_times(activity)
        agent = rng.choice((ref.accueil_id, ref.regisseur_id))
        reason = ""
        if status == "refused":
            reason = rng.choice(
                [
                    "Dossier incomplet : fiche sanitaire manquante.",
                    "Capacité atteinte pour ce groupe d'âge.",
                    "Inscription en double.",
                ]
            )
        elif status == "waiting":
            reason = "Groupe complet : inscription en liste d'attente."
        self.add(
            "enrollment",
            (
                enrollment_id,
                child.id,
                activity.id,
                group.id,
                status,
                source,
                self.w.instant(requested),
                agent,
                self.w.instant(decided),
                reason,
                1,
            ),
        )
        self.audit(
            decided,
            agent,
            "agent",
            "decide",
            "enrollment",
            enrollment_id,
            {"status": "requested"},
            {"status": status, "activity": activity.name, "child": child.first_name},
        )
        return (enrollment_id, decided) if status == "accepted" else None

    def _request_times(self, activity: ActivityInfo) -> tuple[datetime, datetime]:
        """When the family asked (before the activity, in the summer for the school year) and when
        the desk decided (a few days later, before now)."""
        if activity.kind == "holidays":
            requested_day = activity.start - timedelta(days=self.randint(15, 45))
        else:
            requested_day = date(activity.start.year, self.rng.choice((6, 7, 8)), self.randint(1, 28))
        if requested_day >= self.today - timedelta(days=6):  # enrolled early for a later holiday
            requested_day = self.between(self.today - timedelta(days=70), self.today - timedelta(days=6))
        requested = self.some_time(max(requested_day, self.family_created + timedelta(days=1)))
        decided = min(
            requested + timedelta(days=self.randint(1, 5), hours=self.randint(0, 3)), self.now - timedelta(minutes=20)
        )
        return requested, decided

    def book(
        self,
        child: ChildDraft,
        activity: ActivityInfo,
        group: GroupInfo,
        enrollment_id: int,
        decided: datetime,
        source: str,
    ) -> None:
        """Bookings of an accepted enrollment over the year: a weekly habit, noise, attendance before today."""
        rng = self.rng
        days = activity.days
        if activity.kind in ("after_school", "canteen") and len(days) > 40 and rng.random() < 0.06:
            days = days[self.randint(20, len(days) // 2) :]  # started coming during the year
        booked_by = None if source == "portal" else self.ref.accueil_id
        future: Future = ("reserved", source, booked_by, self.w.instant(decided))
        asked: list[tuple[Any, int]] | None = None  # the holiday's cells the family asks for on the portal
        if activity.start > self.today and activity.kind == "holidays":
            r = rng.random()
            if self.account is not None and (r < P_HOLIDAY_REQUEST or not self.counts["portal_booking"]):
                asked = []
            elif r < P_HOLIDAY_REQUEST + 0.015:  # a request the régie already turned down
                future = ("refused", "portal", self.ref.accueil_id, self.w.instant(self.recent(5)))
        first = len(self.cells)
        if activity.kind in ("after_school", "canteen"):
            for unit in activity.units:
                self._habit_cells(
                    child, enrollment_id, unit.id, unit.surcharge > 0, days, self.habit(unit.name), future
                )
        else:
            self._day_cells(child, enrollment_id, activity, group, days, future, asked)
        if asked:
            cells = [{"day": str(day), "unit": unit, "action": "book"} for day, unit in asked[:MAX_CELLS]]
            self.submit("booking", self.recent(10), child=child.id, cells=cells)
        elif (
            self.account is not None
            and activity.kind != "holidays"
            and activity.start <= self.today <= activity.end
            and (rng.random() < P_CHANGE_OF_PLANS or not self.counts["changes_of_plans"])
        ):
            self.change_of_plans(child, activity, first)

    def change_of_plans(self, child: ChildDraft, activity: ActivityInfo, first: int) -> None:
        """Cells booked and cancelled on the portal in the next weeks (this morning's, past the deadline, too)."""
        rng = self.rng
        today, horizon = self.w.day(self.today), self.w.day(self.today + timedelta(days=CHANGE_HORIZON_DAYS))
        existing = {(c[0], c[1]): c[4] for c in self.cells[first:] if today <= c[0] <= horizon}
        booked = sorted(cell for cell, state in existing.items() if state == "reserved")
        free = sorted(
            (d[0], u.id)
            for d in activity.days
            if today <= d[0] <= horizon
            for u in activity.units
            if (d[0], u.id) not in existing
        )
        cancel = rng.sample(booked, min(len(booked), self.randint(0, 3)))
        if booked and (rng.random() < 0.3 or not self.counts["changes_of_plans"]):
            soonest = [cell for cell in booked if cell[0] == booked[0][0]]  # the first day: often today, too late
            cancel = sorted(set(cancel) | {rng.choice(soonest)})
        book = rng.sample(free, min(len(free), self.randint(0 if cancel else 1, 3)))
        actions = sorted([(cell, "cancel") for cell in cancel] + [(cell, "book") for cell in book])
        if not actions:
            return
        cells = [{"day": str(day), "unit": unit, "action": action} for (day, unit), action in actions]
        self.submit("booking", self.recent(3), child=child.id, cells=cells)
        self.counts["changes_of_plans"] += 1

    def habit(self, unit_name: str) -> list[bool]:
        """The ISO week days (as a lookup list 0..7) the child usually comes to this unit."""
        rng = self.rng
        if unit_name == "Repas":
            count = 4 if (r := rng.random()) < 0.88 else 3 if r < 0.95 else 2
        elif rng.random() < (0.75 if unit_name == "Acc matin" else 0.92):
            count = rng.choice((2, 3, 4, 4, 4))
        else:
            count = 0
        chosen = set(rng.sample((1, 2, 4, 5), count))
        return [d in chosen for d in range(8)]

    def _habit_cells(
        self,
        child: ChildDraft,
        enrollment_id: int,
        unit_id: int,
        surcharge: bool,
        days: list[DayInfo],
        habit: list[bool],
        future: Future,
    ) -> None:
        """One unit of a school-day activity: the habit, cancellations, extras, presences without booking."""
        random = self.rng.random
        out = self.cells.append
        tally = child.tally
        child_id = child.id
        accueil = self.ref.accueil_id
        f_state, f_source, f_by, f_at = future
        special_limit = P_EXTRA + P_SPECIAL if surcharge else 0.0
        for day, weekday, past, month, day_of_month, attendance_at in days:
            r = random()
            if habit[weekday]:
                if r < P_CANCEL:
                    continue
                booked = True
            elif r < P_EXTRA:
                booked = True
            elif past and r < special_limit:
                booked = False
            else:
                continue
            if not past:
                out((day, unit_id, child_id, enrollment_id, f_state, f_source, f_by, f_at, 1))
                continue
            if booked:
                r = random()
                state = "present" if r < 0.91 else "absent_justified" if r < 0.965 else "absent_unjustified"
            else:
                state = "present_special"
            out((day, unit_id, child_id, enrollment_id, state, "agent", accueil, attendance_at, 1))
            if month >= 0 and state != "absent_justified":
                entry = tally.get((month, unit_id))
                if entry is None:
                    entry = tally[(month, unit_id)] = ([], [], [])
                entry[0].append(day_of_month)
                if not booked:
                    entry[1].append(day_of_month)
                elif state == "absent_unjustified":
                    entry[2].append(day_of_month)

    def _day_units(self, activity: ActivityInfo) -> tuple[list[int], float, list[int] | None, set[int]]:
        """The units a child takes each day it comes, how likely it comes on a day, and for holidays,
        the week of each day and the weeks it comes (None, empty: every week)."""
        units = [u.id for u in activity.units]
        if activity.kind == "wednesday":  # Matin+Repas+Après-midi, Matin+Repas, Matin, Repas+Après-midi, Après-midi
            combo = self.rng.choices([units, units[:2], units[:1], units[1:], units[2:]], weights=(55, 20, 5, 10, 10))[
                0
            ]
            return combo, P_WEDNESDAY, None, set()
        weeks = self.weeks[activity.id]
        return units, P_HOLIDAY_DAY, weeks, {w for w in sorted(set(weeks)) if self.rng.random() < P_HOLIDAY_WEEK}

    def _day_cells(
        self,
        child: ChildDraft,
        enrollment_id: int,
        activity: ActivityInfo,
        group: GroupInfo,
        days: list[DayInfo],
        future: Future,
        asked: list[tuple[Any, int]] | None = None,
    ) -> None:
        """Mercredis and holidays: the same units all day long, within the group's places.

        With ``asked``, the future days are not booked but collected there as (day, unit):
        the family asks for them on the portal, full days included.
        """
        rng = self.rng
        random = rng.random
        out = self.cells.append
        tally = child.tally
        child_id = child.id
        accueil = self.ref.accueil_id
        f_state, f_source, f_by, f_at = future
        combo, p_day, weeks, chosen_weeks = self._day_units(activity)
        used = self.capacity_used
        usual = activity.places[group.id]
        for i, (day, _, past, month, day_of_month, attendance_at) in enumerate(days):
            if (weeks is not None and weeks[i] not in chosen_weeks) or random() >= p_day:
                continue
            places = activity.day_places.get((group.id, day), usual)
            full = any(used[(group.id, u, day)] >= places for u in combo)
            if full and past:
                continue
            if not past and asked is not None:
                asked.extend((day, u) for u in combo)
                continue
            if not full and (past or f_state != "refused"):
                for u in combo:
                    used[(group.id, u, day)] += 1
            if not past:
                state = "waiting_list" if full and f_state == "reserved" else f_state
                for u in combo:
                    out((day, u, child_id, enrollment_id, state, f_source, f_by, f_at, 1))
                continue
            r = random()
            state = "present" if r < 0.92 else "absent_justified" if r < 0.97 else "absent_unjustified"
            for u in combo:
                out((day, u, child_id, enrollment_id, state, "agent", accueil, attendance_at, 1))
                if month >= 0 and state != "absent_justified":
                    entry = tally.get((month, u))
                    if entry is None:
                        entry = tally[(month, u)] = ([], [], [])
                    entry[0].append(day_of_month)
                    if state == "absent_unjustified":
                        entry[2].append(day_of_month)
