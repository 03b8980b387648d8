"""Due times on the unit's calendar: an active step is due at its activation plus its standard in
office time, "1 hari" being one working day of that unit; a disposisi's batas waktu is the due
time of the step it orders. The clock is frozen with time-machine at the moment of activation."""

import datetime
import importlib
import zoneinfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import transaction
from django.db.models import F

from activities.core import workflow
from activities.models import (
    StepRun,
    Unit,
    UnitDayOff,
    UnitSpecialSchedule,
    UnitWorkingHours,
    forget_calendars,
)
from activities.time import deadlines, durations

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")


def wib(year, month, day, hour, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=WIB)


def open_at(moment, sop, user):
    """Open a run with the clock at `moment`; returns step 1's round (15 menit in SOP 1)."""
    with time_machine.travel(moment, tick=False):
        run = workflow.open_run(
            sop=sop,
            user=user,
            title="Sosialisasi Wawasan Kebangsaan",
            scheduled_on=moment.date() + datetime.timedelta(days=30),
            place="Aula",
        )
    return run.step_runs.get(step__number=1)


@pytest.mark.parametrize(
    ("opened", "due", "case"),
    [
        (wib(2026, 11, 23, 9, 0), wib(2026, 11, 23, 9, 15), "an ordinary Monday morning"),
        (wib(2026, 11, 23, 11, 50), wib(2026, 11, 23, 13, 5), "across Monday's lunch break"),
        (wib(2026, 11, 27, 11, 25), wib(2026, 11, 27, 13, 10), "across Friday's longer break"),
        (wib(2026, 11, 27, 16, 20), wib(2026, 11, 30, 7, 35), "Friday evening over the weekend"),
        (wib(2026, 11, 28, 10, 0), wib(2026, 11, 30, 7, 45), "opened on a Saturday"),
        (wib(2026, 5, 29, 15, 0), wib(2026, 5, 29, 15, 15), "Friday afternoon"),
        (wib(2026, 5, 29, 16, 25), wib(2026, 6, 2, 7, 40), "weekend and Hari Lahir Pancasila"),
        (wib(2026, 12, 23, 15, 55), wib(2026, 12, 28, 7, 40), "cuti bersama, then Natal"),
        (wib(2026, 11, 23, 23, 30), wib(2026, 11, 24, 7, 45), "23:30 WIB, after hours"),
        (wib(2026, 11, 24, 1, 0), wib(2026, 11, 24, 7, 45), "01:00 WIB (18:00 UTC before)"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_step_is_due_its_standard_after_activation_in_office_time(sop1, users, opened, due, case):
    step_run = open_at(opened, sop1, users["kasi"])
    assert step_run.due_at == due, case


def test_ramadan_hours_count_on_the_unit_ramadan_dates(sop1, users):
    UnitSpecialSchedule.objects.create(
        unit=sop1.unit,
        name="Ramadan 1447 H",
        start_date=datetime.date(2026, 2, 18),
        end_date=datetime.date(2026, 3, 19),
    )
    # Ramadan: Monday to Thursday 08:00-12:00 and 12:30-15:00.
    step_run = open_at(wib(2026, 3, 2, 14, 50), sop1, users["kasi"])
    assert step_run.due_at == wib(2026, 3, 3, 8, 5)
    step_run = open_at(wib(2026, 3, 2, 11, 55), sop1, users["kasi"])
    assert step_run.due_at == wib(2026, 3, 2, 12, 40)


@pytest.mark.parametrize(
    ("start", "due", "case"),
    [
        (wib(2026, 11, 23, 7, 30), wib(2026, 11, 23, 16, 0), "from the opening: that day's end"),
        (wib(2026, 11, 23, 10, 0), wib(2026, 11, 24, 10, 0), "from mid-morning: next morning"),
        (wib(2026, 11, 27, 10, 0), wib(2026, 11, 30, 10, 0), "Friday to Monday"),
        (wib(2026, 11, 23, 17, 0), wib(2026, 11, 24, 16, 0), "after hours: all of the next day"),
        (wib(2026, 12, 23, 10, 0), wib(2026, 12, 28, 10, 0), "over cuti bersama and Natal"),
        (wib(2026, 3, 2, 8, 0), wib(2026, 3, 2, 15, 0), "a Ramadan day is one day"),
        (wib(2026, 3, 2, 14, 0), wib(2026, 3, 3, 14, 0), "Ramadan, mid-afternoon"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_one_hari_is_one_working_day_of_the_unit(sop1, start, due, case):
    UnitSpecialSchedule.objects.create(
        unit=sop1.unit, start_date=datetime.date(2026, 2, 18), end_date=datetime.date(2026, 3, 19)
    )
    calendar = Unit.objects.get(pk=sop1.unit_id).calendar
    assert calendar.due(start, durations.parse("1 hari")) == due, case


def test_two_hari_skip_a_day_off_of_the_unit(sop1):
    UnitDayOff.objects.create(unit=sop1.unit, date=datetime.date(2026, 11, 24), description="HUT")
    calendar = Unit.objects.get(pk=sop1.unit_id).calendar
    due = calendar.due(wib(2026, 11, 23, 10, 0), durations.parse("2 hari"))
    assert due == wib(2026, 11, 26, 10, 0)


def test_the_unit_week_is_data(sop1, users):
    """A unit that works Saturday mornings: its own week replaces the ASN default."""
    unit = sop1.unit
    for weekday in range(5):
        UnitWorkingHours.objects.create(
            unit=unit, weekday=weekday, start=datetime.time(8), end=datetime.time(15)
        )
    UnitWorkingHours.objects.create(
        unit=unit, weekday=5, start=datetime.time(8), end=datetime.time(12)
    )
    step_run = open_at(wib(2026, 11, 27, 14, 50), sop1, users["kasi"])
    assert step_run.due_at == wib(2026, 11, 28, 8, 5)
    assert Unit.objects.get(pk=unit.pk).calendar.day_minutes == 420


def test_a_disposisi_deadline_is_the_due_time_of_the_work_it_orders(sop1, users):
    step_run = open_at(wib(2026, 11, 23, 9, 0), sop1, users["kasi"])
    run = step_run.run
    with time_machine.travel(wib(2026, 11, 23, 9, 10), tick=False):
        workflow.complete_step(run_id=run.pk, number=1, user=users["kasi"])
        workflow.approve_step(
            run_id=run.pk,
            number=2,
            user=users["kepala"],
            instruction="Segera siapkan.",
            deadline=datetime.date(2026, 11, 27),
        )
    step3 = run.step_runs.get(step__number=3)
    assert step3.state == StepRun.State.ACTIVE
    assert step3.due_at == wib(2026, 11, 27, 16, 30)  # Friday's office hours end at 16:30


def test_a_calendar_change_moves_the_due_times_of_active_steps(sop1, users, client_for):
    step_run = open_at(wib(2026, 11, 27, 16, 20), sop1, users["kasi"])
    assert step_run.due_at == wib(2026, 11, 30, 7, 35)
    UnitDayOff.objects.create(
        unit=sop1.unit, date=datetime.date(2026, 11, 30), description="Pilkada"
    )
    assert deadlines.recompute_due_times(Unit.objects.get(pk=sop1.unit_id)) == 1
    step_run.refresh_from_db()
    assert step_run.due_at == wib(2026, 12, 1, 7, 35)


def another_process_adds_a_day_off(unit, day):
    """What another gunicorn worker's committed change looks like from here: the row and the
    unit's next calendar version, without this process's bookkeeping."""
    UnitDayOff.objects.bulk_create([UnitDayOff(unit=unit, date=day, description="Pilkada")])
    Unit.objects.filter(pk=unit.pk).update(calendar_version=F("calendar_version") + 1)


def test_a_units_calendar_is_read_once_per_version_and_a_change_elsewhere_is_seen(
    sop1, django_assert_num_queries
):
    monday = datetime.date(2026, 11, 30)
    forget_calendars()  # seed_demo read it
    with django_assert_num_queries(4):  # the unit, its working hours, days off, special periods
        assert Unit.objects.get(pk=sop1.unit_id).calendar.is_working_day(monday)
    with django_assert_num_queries(1):
        assert Unit.objects.get(pk=sop1.unit_id).calendar.is_working_day(monday)

    another_process_adds_a_day_off(sop1.unit, monday)
    assert not Unit.objects.get(pk=sop1.unit_id).calendar.is_working_day(monday)


def test_a_calendar_of_a_rolled_back_change_is_not_kept(sop1):
    unit_id, monday = sop1.unit_id, datetime.date(2026, 11, 30)
    assert Unit.objects.get(pk=unit_id).calendar.is_working_day(monday)
    with pytest.raises(RuntimeError), transaction.atomic():
        UnitDayOff.objects.create(unit_id=unit_id, date=monday, description="Rapat")
        assert not Unit.objects.get(pk=unit_id).calendar.is_working_day(monday)
        raise RuntimeError
    assert Unit.objects.get(pk=unit_id).calendar.is_working_day(monday)
    # The rolled-back version number comes again, with other rows.
    another_process_adds_a_day_off(sop1.unit, monday + datetime.timedelta(days=1))
    calendar = Unit.objects.get(pk=unit_id).calendar
    assert calendar.is_working_day(monday)
    assert not calendar.is_working_day(monday + datetime.timedelta(days=1))


def test_saving_and_deleting_a_calendar_row_moves_the_version_of_its_unit(sop1):
    unit = Unit.objects.get(pk=sop1.unit_id)
    version = unit.calendar_version
    day_off = UnitDayOff.objects.create(
        unit=unit, date=datetime.date(2026, 11, 30), description="Pilkada"
    )
    # The unit the row was saved with follows at once.
    assert unit.calendar_version == version + 1
    assert not unit.calendar.is_working_day(datetime.date(2026, 11, 30))
    day_off.description = "Pilkada serentak"
    day_off.save()
    day_off.delete()
    assert Unit.objects.get(pk=unit.pk).calendar_version == version + 3


def test_saving_a_unit_read_before_a_calendar_change_keeps_the_new_version(sop1):
    unit = Unit.objects.get(pk=sop1.unit_id)
    another_process_adds_a_day_off(sop1.unit, datetime.date(2026, 11, 30))
    unit.head_name = "Drs. Kepala Baru"
    unit.save()
    unit.refresh_from_db()
    assert (unit.head_name, unit.calendar_version) == ("Drs. Kepala Baru", 1)


def test_a_day_off_written_in_the_admin_is_in_the_calendar(sop1, users, client_for):
    unit = Unit.objects.get(pk=sop1.unit_id)
    assert unit.calendar.is_working_day(datetime.date(2026, 11, 30))
    data = {
        field: getattr(unit, field)
        for field in ("name", "short_name", "parent_name", "letterhead_name", "address")
    }
    data |= {
        field: getattr(unit, field)
        for field in ("phone", "email", "website", "letterhead_rule", "head_title")
    }
    data |= {field: getattr(unit, field) for field in ("head_name", "head_rank", "head_nip")}
    for prefix in ("roles", "working_hours", "special_schedules"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data |= {
        "days_off-TOTAL_FORMS": 1,
        "days_off-INITIAL_FORMS": 0,
        "days_off-0-date": "2026-11-30",
        "days_off-0-description": "Pilkada",
    }
    response = client_for("admin").post(f"/admin/activities/unit/{unit.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Unit.objects.get(pk=unit.pk).calendar.is_working_day(datetime.date(2026, 11, 30))


def test_the_data_migration_writes_the_weeks_and_due_times_of_existing_units(sop1, users):
    step_run = open_at(wib(2026, 11, 27, 16, 20), sop1, users["kasi"])
    StepRun.objects.filter(pk=step_run.pk).update(due_at=None)
    migration = importlib.import_module("activities.migrations.0006_unit_calendar_and_due_times")
    migration.write_weeks_and_due_times(django_apps, None)

    hours = UnitWorkingHours.objects.filter(unit=sop1.unit)
    assert hours.filter(week="regular").count() == 10  # two intervals on five weekdays
    assert hours.filter(week="special").count() == 10
    assert Unit.objects.get(pk=sop1.unit_id).calendar.day_minutes == 450
    step_run.refresh_from_db()
    assert step_run.due_at == wib(2026, 11, 30, 7, 35)
