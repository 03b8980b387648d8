"""sopflow's domain models, one module per concept; every model is importable from here.

- `units`: units (offices) and their office calendars
- `people`: roles, acting appointments (Plt./Plh.), password resets
- `sops`: SOP versions, their items and steps, review notes, SOP acts
- `runs`: runs (kegiatan), their step rounds and attachments
- `events`: the append-only event log and its hash chain
- `archive`: archived laporan and period reports
- `notifications`: in-app notifications and outside deliveries
- `jobs`: periodic jobs of the scheduler
- `integrations`: API keys, webhook subscriptions, their deliveries and attempts
- `monitoring`: Tabel 7 reports and SOP evaluations
- `stepdata`: reference lists and the data rounds record at their steps

State changes of runs live in `activities.core.workflow`; time maths in `activities.time`.
"""

from activities.models.archive import (
    ArchivedReport,
    LaporanSignature,
    PeriodReport,
    SignedLaporan,
)
from activities.models.base import (
    AppendOnly,
    ConfigurationHistory,
    LetterheadRule,
    PreparedQueries,
    format_nip,
    nip_problem,
    normalize_nip,
    update_rows,
    validate_emblem,
    validate_nip,
)
from activities.models.events import (
    RUNLESS_CHAIN_LOCK,
    Event,
    EventQuerySet,
)
from activities.models.integrations import (
    KEY_PREFIX,
    ApiKey,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
    hash_key,
    new_webhook_secret,
)
from activities.models.jobs import (
    PeriodicJob,
)
from activities.models.monitoring import (
    Answer,
    Assessment,
    MonitoringReport,
    MonitoringRow,
    SignOff,
    SopEvaluation,
)
from activities.models.notifications import (
    Delivery,
    Notification,
)
from activities.models.people import (
    ROLE_HISTORY,
    Acting,
    ActingAppointment,
    ActingAppointmentQuerySet,
    PasswordResetRequest,
    Pegawai,
    PegawaiImport,
    Role,
    pegawai_of,
    performed_as,
    record_membership_change,
)
from activities.models.register import (
    Klasifikasi,
    NaskahCounter,
    NaskahNumber,
)
from activities.models.runs import (
    Attachment,
    Run,
    StepRun,
    StepSignOff,
    attachment_path,
    rendition_path,
)
from activities.models.sops import (
    SOP_LABELS,
    ReviewNote,
    Sop,
    SopAct,
    SopItem,
    SopQuerySet,
    Step,
    critical_path,
    duration_error_message,
    parallel_stages,
    validate_standard_text,
)
from activities.models.stepdata import (
    COUNTED_TYPES,
    SUMMED_TYPES,
    DataFieldSpec,
    DataType,
    ReferenceItem,
    ReferenceList,
    StepValue,
    data_specs,
    display_value,
    grouped_values,
    number_text,
)
from activities.models.units import (
    CALENDAR_CACHE_SIZE,
    Unit,
    UnitCalendarRow,
    UnitDayOff,
    UnitQuerySet,
    UnitSpecialSchedule,
    UnitWorkingHours,
    bump_calendar_version,
    follow_day_length,
    forget_calendars,
    unit_calendar,
)

__all__ = [
    "validate_emblem",
    "LetterheadRule",
    "ConfigurationHistory",
    "AppendOnly",
    "normalize_nip",
    "update_rows",
    "PreparedQueries",
    "format_nip",
    "nip_problem",
    "validate_nip",
    "Pegawai",
    "PegawaiImport",
    "pegawai_of",
    "LaporanSignature",
    "SignedLaporan",
    "UnitQuerySet",
    "Unit",
    "CALENDAR_CACHE_SIZE",
    "unit_calendar",
    "bump_calendar_version",
    "follow_day_length",
    "forget_calendars",
    "UnitCalendarRow",
    "UnitWorkingHours",
    "UnitDayOff",
    "UnitSpecialSchedule",
    "ROLE_HISTORY",
    "record_membership_change",
    "Role",
    "Acting",
    "performed_as",
    "ActingAppointmentQuerySet",
    "ActingAppointment",
    "PasswordResetRequest",
    "SOP_LABELS",
    "SopQuerySet",
    "Sop",
    "SopItem",
    "validate_standard_text",
    "duration_error_message",
    "Step",
    "ReviewNote",
    "SopAct",
    "Run",
    "StepRun",
    "StepSignOff",
    "critical_path",
    "parallel_stages",
    "attachment_path",
    "rendition_path",
    "Attachment",
    "RUNLESS_CHAIN_LOCK",
    "EventQuerySet",
    "Event",
    "ArchivedReport",
    "Klasifikasi",
    "NaskahCounter",
    "NaskahNumber",
    "PeriodReport",
    "Notification",
    "Delivery",
    "PeriodicJob",
    "KEY_PREFIX",
    "ApiKey",
    "hash_key",
    "new_webhook_secret",
    "WebhookSubscription",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookAttempt",
    "Assessment",
    "SignOff",
    "MonitoringReport",
    "MonitoringRow",
    "Answer",
    "SopEvaluation",
    "DataType",
    "DataFieldSpec",
    "SUMMED_TYPES",
    "COUNTED_TYPES",
    "data_specs",
    "display_value",
    "grouped_values",
    "number_text",
    "ReferenceList",
    "ReferenceItem",
    "StepValue",
]
