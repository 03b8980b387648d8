"""The rounds of a run as its page and a step's page print them, computed once per request.

Each round's badges, times, durations, sign-offs and recorded facts are formatted here, in
Python, once (`RoundRow`), in words translated once per language (`Words`): the partials
`runs/_round.html` and `runs/_sign_offs.html` only place the prepared strings, so a run of
many rounds costs a few lookups a round, not a filter, a translation and a time-zone
conversion per cell.
"""

import functools
from dataclasses import dataclass, field

from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from activities.models import StepRun
from activities.text import once_per_language
from activities.time.timing import day_text, format_minutes, format_wall_minutes, moment_text

STATE_BADGES = {
    StepRun.State.ACTIVE: "text-bg-primary",
    StepRun.State.DONE: "text-bg-success",
    StepRun.State.RETURNED: "text-bg-warning",
}


class Words:
    """The words every round prints in the active language (`current_words()`: translated once
    per process and language instead of once per round)."""

    def __init__(self):
        self.by, self.when, self.duration = _("Oleh"), _("Waktu"), _("Lama")
        self.requirements, self.output, self.notes = _("Kelengkapan"), _("Output"), _("Catatan")
        self.instruction, self.return_reason = _("Disposisi"), _("Alasan dikembalikan")
        self.on_behalf, self.difference = _("a.n."), _("selisih")
        self.late, self.on_time = _("Terlambat"), _("Tepat waktu")
        self.round = _("Putaran %(round)s")
        self.active_since, self.entered, self.due = (
            _("aktif sejak %(at)s"),
            _("dicatat %(at)s"),
            _("jatuh tempo %(at)s"),
        )
        self.actual = _("%(actual)s jam kerja (standar %(standard)s)")
        self.elapsed = _("berjalan %(elapsed)s jam kerja (standar %(standard)s)")
        self.wall = _("%(wall)s waktu kalender")
        self.deadline = _("batas waktu %(deadline)s")
        self.states = {state: str(label) for state, label in StepRun.State.choices}
        self.approved = _("Disetujui")


current_words = once_per_language(Words)


def _local(value):
    return timezone.localtime(value) if value else None


def _at(value):
    """23 November 2026 14:05 in WIB, as the `waktu` filter writes it (`moment_text`), or ""."""
    return moment_text(value) if value else ""


def _clock(local):
    return f"{local.hour:02d}:{local.minute:02d}"


def _signed(minutes, day_minutes):
    return ("+" if minutes > 0 else "") + format_minutes(minutes, day_minutes)


@dataclass
class SignOffLine:
    """One performer's part of a joint step's round, as `runs/_sign_offs.html` prints it."""

    person: str
    # "(Tim)", "(a.n. Kepala)", or "" for a part without a role.
    role: str
    # "23 November 2026 09:00 – 10:30", and the office time it took ("" if not counted).
    when: str
    duration: str
    # (label, text) of the output, notes and instruction the performer wrote.
    details: list


@dataclass
class RoundRow:
    """One round (`timing`: its `RoundTiming`) and what its partial prints."""

    timing: object
    is_current: bool
    words: Words
    round_label: str = ""
    state_badge: str = ""
    state_label: str = ""
    # "late", "ontime" or "": the punctuality badge's class, and its text.
    punctuality: str = ""
    punctuality_label: str = ""
    # A joint step's round that has started: its performers' parts (`SignOffLine`), possibly
    # none yet; None for any other round.
    sign_offs: list | None = None
    attachments: list = field(default_factory=list)

    @property
    def step_run(self):
        return self.timing.step_run

    @functools.cached_property
    def facts(self):
        """The `<dt>`/`<dd>` pairs of everything the round recorded, in order, as HTML ("" for
        a waiting round); the step data's `<dd>` carry `data-step-value`. Computed when
        printed: the step page shows the round being worked on as a form, without its (not
        yet read) records."""
        if self.step_run.state == StepRun.State.WAITING:
            return ""
        return format_html_join(
            "",
            "<dt>{}</dt><dd{}>{}</dd>",
            (
                (label, " data-step-value" if is_data else "", value)
                for label, value, is_data in _facts(self.timing, self.step_run, self, self.words)
            ),
        )


def _performer(sr, words):
    """The performer of a closed round, with whom he acted for in muted text."""
    person = sr.completed_by
    name = person.get_full_name() or person.get_username()
    if sr.on_behalf:
        note = f"({words.on_behalf} {sr.roles_display})"
    elif sr.completed_as_id:
        note = f"({sr.performed_as})"
    else:
        return name
    return format_html('{} <span class="text-muted">{}</span>', name, note)


def _when(row, sr, words):
    """When the round ran, and muted lines for its activation, its entry and its due time."""
    started, completed = _local(sr.started_at), _local(sr.completed_at)
    notes, due = [], ""
    if started and completed:
        start, end = _at(started), _at(completed)
        same_day = started.date() == completed.date()
        when = f"{start} – {_clock(completed) if same_day else end}"
        # The activation and the entry only where they differ from the round's own times.
        for moment, shown, text in (
            (sr.activated_at, start, words.active_since),
            (sr.entered_at, end, words.entered),
        ):
            at = _at(moment)
            if at and at != shown:
                notes.append(text % {"at": at})
    elif sr.activated_at:
        when = words.active_since % {"at": _at(sr.activated_at)}
        if sr.due_at and sr.state == StepRun.State.ACTIVE:
            due = words.due % {"at": _at(sr.due_at)}
    else:
        when = ""
    lines = format_html_join(
        "", '<span class="d-block text-muted">{}</span>', ((n,) for n in notes)
    )
    if due:
        late = " text-danger fw-semibold" if row.punctuality == "late" else ""
        lines += format_html('<span class="d-block{}">{}</span>', late, due)
    return format_html("{}{}", when, lines) if lines else when


def _duration(timing, sr, words):
    """The office time the round took (or has run so far) against the step's standard."""
    day_minutes, standard = timing.day_minutes, sr.step.standard_display
    if timing.actual_minutes is not None:
        actual = words.actual % {
            "actual": format_minutes(timing.actual_minutes, day_minutes),
            "standard": standard,
        }
        return format_html(
            '{} <span class="text-muted">· {} {}</span><span class="d-block text-muted">{}</span>',
            actual,
            words.difference,
            _signed(timing.difference_minutes, day_minutes),
            words.wall % {"wall": format_wall_minutes(timing.wall_minutes)},
        )
    if timing.elapsed_minutes is not None:
        return words.elapsed % {
            "elapsed": format_minutes(timing.elapsed_minutes, day_minutes),
            "standard": standard,
        }
    return ""


def _disposition(sr, words):
    """The instruction of an approval, with its deadline and the decision's notes."""
    html = linebreaksbr(sr.instruction)
    if sr.deadline:
        deadline = words.deadline % {"deadline": day_text(sr.deadline)}
        html += format_html('<span class="d-block text-muted">{}</span>', deadline)
    if sr.decision_notes:
        html += format_html(
            '<span class="d-block text-muted">{}</span>', linebreaksbr(sr.decision_notes)
        )
    return html


def _facts(timing, sr, row, words):
    """(label, value, is step data) of everything the round recorded, in the page's order."""
    facts = []
    if sr.completed_by_id:
        facts.append((words.by, _performer(sr, words), False))
    facts.append((words.when, _when(row, sr, words), False))
    facts.append((words.duration, _duration(timing, sr, words), False))
    if sr.requirements_checked:
        badges = format_html_join(
            "",
            '<span class="badge text-bg-light border me-1">&check; {}</span>',
            ((item,) for item in sr.requirements_checked_list()),
        )
        facts.append((words.requirements, badges, False))
    facts += [(label, text, True) for label, text in sr.data_rows]
    if sr.output:
        facts.append((words.output, linebreaksbr(sr.output), False))
    if sr.notes:
        facts.append((words.notes, linebreaksbr(sr.notes), False))
    if sr.instruction:
        facts.append((words.instruction, _disposition(sr, words), False))
    if sr.return_reason:
        facts.append((words.return_reason, linebreaksbr(sr.return_reason), False))
    return facts


def sign_off_lines(sr, day_minutes, words):
    """The parts of a joint step's round `sr` (`access.attach_sign_offs`), oldest first."""
    lines = []
    for part in sr.parts:
        person = part.user.get_full_name() or part.user.get_username()
        role = ""
        if part.role_id:
            on_behalf = f"{words.on_behalf} " if part.on_behalf else ""
            role = f"({on_behalf}{part.performed_as})"
        completed = _local(part.completed_at)
        when = f"{_at(part.started_at)} – {_clock(completed) if completed else ''}"
        duration = ""
        if part.handling_office_minutes is not None:
            duration = format_minutes(part.handling_office_minutes, day_minutes)
        details = [
            (label, text)
            for label, text in (
                (words.output, part.output),
                (words.notes, part.notes),
                (words.instruction, part.instruction),
            )
            if text
        ]
        lines.append(SignOffLine(person, role, when, duration, details))
    return lines


def round_row(timing, is_current, words):
    """A `RoundRow` of `timing` with every string its partial prints (`words`: a `Words`)."""
    sr = timing.step_run
    row = RoundRow(timing, is_current, words)
    row.round_label = words.round % {"round": sr.round}
    row.state_badge = STATE_BADGES.get(sr.state, "text-bg-light border")
    approved = sr.decision == StepRun.Decision.APPROVED
    row.state_label = words.approved if approved else words.states[sr.state]
    if timing.actual_minutes is not None:
        row.punctuality = "late" if timing.late else "ontime"
    elif sr.state == StepRun.State.ACTIVE and timing.late:
        row.punctuality = "late"
    if row.punctuality:
        row.punctuality_label = words.late if row.punctuality == "late" else words.on_time
    if sr.state == StepRun.State.WAITING:
        return row
    if sr.step.is_joint:
        row.sign_offs = sign_off_lines(sr, timing.day_minutes, words)
    row.attachments = list(sr.attachments.all())
    return row


@dataclass
class TimelineStep:
    """A step of the run page's timeline: the step, its pelaksana, its total, its rounds, and
    whether the user may act on it (`mine`)."""

    step: object
    pelaksana: str
    total: object
    rounds: list
    mine: bool = False
    total_display: str = ""

    @property
    def many_rounds(self):
        return len(self.rounds) > 1


def timeline(timing, active, sop, my_step_ids):
    """The run page's steps in order, each with its rounds, `active` marked as current."""
    totals = {total.step.pk: total for total in timing.steps}
    steps, words = {}, current_words()
    for row in timing.rounds:
        step = row.step_run.step
        if step.pk not in steps:
            total = totals[step.pk]
            steps[step.pk] = TimelineStep(
                step, sop.pelaksana(step), total, [], mine=step.pk in my_step_ids
            )
            if total.rounds > 1:
                steps[step.pk].total_display = format_minutes(
                    total.actual_minutes, total.day_minutes
                )
        steps[step.pk].rounds.append(round_row(row, row.step_run is active, words))
    return list(steps.values())
