import pickle

import pytest

from activities.time.durations import (
    WALL_DAY_MINUTES,
    DurationError,
    Standard,
    Unit,
    format_minutes,
    format_total,
    parse,
    total,
)

SOP_1 = [
    "15 Menit",
    "15 Menit",
    "30 Menit",
    "60 Menit",
    "10 Menit",
    "10 Menit",
    "10 Menit",
    "1 hari",
    "1 hari",
    "30 Menit",
    "1 hari",
    "2 hari",
    "30 Menit",
    "15 Menit",
    "60 menit",
]
SOP_2 = [
    "20 Menit",
    "10 Menit",
    "5 menit",
    "5 Menit",
    "5 Menit",
    "5 Menit",
    "120 Menit",
    "10 Menit",
    "5 Menit",
]


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("15 Menit", 15, Unit.MINUTE),
        ("1 hari", 1, Unit.DAY),
        ("2 jam", 2, Unit.HOUR),
        ("10\tMenit", 10, Unit.MINUTE),
        ("60 menit", 60, Unit.MINUTE),
        ("2 Menit", 2, Unit.MINUTE),
        (" 5 menit ", 5, Unit.MINUTE),
        ("1 Hari", 1, Unit.DAY),
        ("15 MENIT", 15, Unit.MINUTE),
        ("3  jam", 3, Unit.HOUR),
        ("20 mnt", 20, Unit.MINUTE),
        ("5 hr", 5, Unit.DAY),
        ("5 Hr", 5, Unit.DAY),
        ("15menit", 15, Unit.MINUTE),
    ],
)
def test_parse_accepts(text, amount, unit):
    assert parse(text) == Standard(amount, unit)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\t\n", "empty"),
        ("lima menit", "format"),
        ("1,5 jam", "format"),
        ("1.5 jam", "format"),
        ("menit", "format"),
        ("15 menit 30", "format"),
        ("-5 menit", "negative"),
        ("0 menit", "zero"),
        ("0 hari", "zero"),
        ("3 minggu", "unit"),
        ("15", "unit"),
    ],
)
def test_parse_rejects(text, code):
    with pytest.raises(DurationError) as info:
        parse(text)
    assert info.value.code == code
    assert info.value.text == text
    assert str(info.value)


def test_duration_error_is_value_error_and_pickles():
    error = DurationError("unit", "3 minggu")
    assert isinstance(error, ValueError)
    assert "3 minggu" in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.text, str(copy)) == (error.code, error.text, str(error))


def test_standard_minutes_and_str():
    assert parse("15 Menit").minutes() == 15
    assert parse("2 jam").minutes() == 120
    assert parse("1 hari").minutes(450) == 450
    assert parse("2 hari").minutes(day_minutes=480) == 960
    # A day has no length of its own: the unit's calendar gives it.
    with pytest.raises(ValueError, match="day_minutes"):
        parse("1 hari").minutes()
    with pytest.raises(ValueError, match="day_minutes"):
        parse("1 hari").minutes(0)
    assert str(parse("15 Menit")) == "15 menit"
    assert str(parse("1 Hari")) == "1 hari"
    assert str(parse("2 jam")) == "2 jam"
    assert str(parse("5 hr")) == "5 hari"


def test_standard_validates_and_coerces_unit():
    assert Standard(3, "jam").unit is Unit.HOUR
    with pytest.raises(DurationError) as info:
        Standard(0, Unit.MINUTE)
    assert info.value.code == "zero"
    with pytest.raises(DurationError) as info:
        Standard(-1, Unit.MINUTE)
    assert info.value.code == "negative"
    with pytest.raises(DurationError) as info:
        Standard(1, "minggu")
    assert info.value.code == "unit"


def test_total_sop_1():
    days, minutes = total(parse(text) for text in SOP_1)
    assert (days, minutes) == (5, 285)
    assert format_total(days, minutes) == "5 hari 4 jam 45 menit"


def test_total_sop_2():
    days, minutes = total(parse(text) for text in SOP_2)
    assert (days, minutes) == (0, 185)
    assert format_total(days, minutes) == "3 jam 5 menit"


def test_total_keeps_minutes_out_of_days():
    assert total([parse("1000 menit"), parse("1 hari")]) == (1, 1000)
    assert total([]) == (0, 0)


@pytest.mark.parametrize(
    ("days", "minutes", "expected"),
    [
        (5, 285, "5 hari 4 jam 45 menit"),
        (0, 185, "3 jam 5 menit"),
        (0, 0, "0 menit"),
        (1, 0, "1 hari"),
        (0, 60, "1 jam"),
        (0, 45, "45 menit"),
        (0, 1000, "16 jam 40 menit"),
        (2, 5, "2 hari 5 menit"),
    ],
)
def test_format_total(days, minutes, expected):
    assert format_total(days, minutes) == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (2535, "5 hari 4 jam 45 menit"),
        (0, "0 menit"),
        (-15, "-15 menit"),
        (450, "1 hari"),
        (60, "1 jam"),
        (449, "7 jam 29 menit"),
        (-2535, "-5 hari 4 jam 45 menit"),
        (14.6, "15 menit"),
        (0.4, "0 menit"),
        (-0.4, "0 menit"),
    ],
)
def test_format_minutes(minutes, expected):
    assert format_minutes(minutes, 450) == expected


def test_format_minutes_in_the_day_it_is_given():
    assert format_minutes(960, day_minutes=480) == "2 hari"
    assert format_minutes(480, 480) == "1 hari"
    assert format_minutes(480, 450) == "1 hari 30 menit"
    assert format_minutes(1440, WALL_DAY_MINUTES) == "1 hari"
    with pytest.raises(ValueError):
        format_minutes(480, 0)
