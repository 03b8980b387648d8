"""What the API reads and answers, as typed schemas: the OpenAPI description is made from these."""

import datetime

from ninja import Field, Schema


class Problem(Schema):
    """An error (RFC 9457, `application/problem+json`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    code: str | None = None
    errors: dict[str, list[str]] | None = None


class UnitOut(Schema):
    id: int
    name: str


class StepOut(Schema):
    number: int
    activity: str
    kind: str
    action: str
    roles: list[str]
    requirements: list[str]
    standard_text: str
    standard_minutes: int
    output: str
    return_to: int | None = Field(None, description="Langkah tujuan pengembalian")


class SopOut(Schema):
    id: int
    unit: UnitOut
    number: str
    name: str
    version: int
    status: str
    effective_on: str = Field("", description="Tanggal efektif sebagaimana tertulis")


class SopDetail(SopOut):
    steps: list[StepOut]


class SopPage(Schema):
    items: list[SopOut]
    next_cursor: str | None = Field(None, description="Nilai `cursor` halaman berikutnya")


class RunOpen(Schema):
    sop: int = Field(..., description="Id versi SOP yang berlaku")
    title: str
    scheduled_on: str = Field(..., description="Tanggal pelaksanaan, mis. 2026-11-23")
    place: str
    notes: str = ""


class RunOut(Schema):
    id: int
    title: str
    status: str
    scheduled_on: datetime.date
    place: str
    unit: UnitOut
    sop: int
    opened_at: datetime.datetime
    finished_at: datetime.datetime | None = None
    cancelled_at: datetime.datetime | None = None
    active_step: int | None = None


class RunPage(Schema):
    items: list[RunOut]
    next_cursor: str | None = None


class RoundOut(Schema):
    id: int
    step: int
    round: int
    version: int = Field(..., description="Kirim kembali sebagai `version` saat bertindak")
    state: str
    activated_at: datetime.datetime | None = None
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    due_at: datetime.datetime | None = None
    completed_by: str | None = None
    performed_as: str | None = None
    decision: str | None = None
    instruction: str | None = None
    return_reason: str | None = None
    output: str | None = None
    notes: str | None = None
    standard_minutes: int
    actual_minutes: float | None = None
    lead_minutes: float | None = None
    late: bool


class FiguresOut(Schema):
    standard_total_minutes: int
    actual_total_minutes: float
    waiting_total_minutes: float
    lead_minutes: float | None = None
    steps_done: int
    steps_on_time: int
    day_minutes: int = Field(..., description="Menit kerja satu hari unit ini")


class RunDetail(RunOut):
    notes: str
    cancel_reason: str
    rounds: list[RoundOut]
    figures: FiguresOut


class StepComplete(Schema):
    round: int
    version: int
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    requirements: list[str] = []
    output: str = ""
    notes: str = ""


class StepApprove(Schema):
    round: int
    version: int
    instruction: str = Field(..., description="Isi disposisi")
    deadline: datetime.date | None = None
    decision_notes: str = ""
    started_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None
    requirements: list[str] = []


class StepReturn(Schema):
    round: int
    version: int
    reason: str


class ActionResult(Schema):
    message: str
    run: RunDetail


class InboxItem(Schema):
    run: int
    run_title: str
    sop: str
    step: int
    activity: str
    round: int
    version: int
    activated_at: datetime.datetime | None = None
    due_at: datetime.datetime | None = None


class InboxPage(Schema):
    items: list[InboxItem]
    next_page: int | None = None


class StepStatOut(Schema):
    step: int
    standard_minutes: int
    rounds: int
    handling_median: float | None = None
    handling_p90: float | None = None
    waiting_median: float | None = None
    within_share: float | None = None
    return_rate: float | None = None
    overrun: float


class StatisticsOut(Schema):
    sop: int
    start: datetime.date
    end: datetime.date
    opened: int
    finished: int
    cancelled: int
    open_at_end: int
    standard_total: int
    on_time_share: float | None = None
    lead_median: float | None = None
    lead_p90: float | None = None
    day_minutes: int
    steps: list[StepStatOut]


class EventOut(Schema):
    id: int
    seq: int
    run: int | None = None
    kind: str
    at: datetime.datetime
    actor: str | None = None
    performed_as: str | None = None
    acting: str = ""
    on_behalf: bool
    step: int | None = None
    round: int | None = None
    before: dict
    after: dict
    hash: str


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None = None
