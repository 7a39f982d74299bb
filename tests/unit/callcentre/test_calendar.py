"""The hours form: what an administrator types becomes stored hours, every mistake is named at
its field, and the next days read as the rules will apply them."""

from __future__ import annotations

from datetime import date

from callcentre.calendar import hours_as_form, hours_from_form, next_days
from callcentre.state import HoursIn


def form(**days: str) -> dict[str, str]:
    return {"timezone": "Europe/Amsterdam", "holidays": "", **days}


def test_typed_ranges_become_stored_openings() -> None:
    hours, errors = hours_from_form(
        form(day_mon="8:00 - 12:00, 13.00-17:00", day_tue="closed", day_sat="09:00-24:00")
    )
    assert errors == {} and hours is not None
    assert hours.weekly == {"mon": ["08:00-12:00", "13:00-17:00"], "sat": ["09:00-24:00"]}
    assert hours_as_form(hours)["day_mon"] == "08:00-12:00, 13:00-17:00"
    assert hours_as_form(hours)["day_tue"] == ""


def test_each_mistake_is_named_at_its_field() -> None:
    hours, errors = hours_from_form(
        {
            "timezone": "Amsterdam",
            "day_mon": "17:00-09:00",
            "day_tue": "9 to 5",
            "day_wed": "08:00-12:00, 11:00-14:00",
            "day_thu": "25:00-26:00",
            "holidays": "2026-12-25\n25/12/2026",
        }
    )
    assert hours is None
    assert "not a time zone" in errors["timezone"] and "Europe/Amsterdam" in errors["timezone"]
    assert "closes before it opens" in errors["day_mon"]
    assert "is not a time range" in errors["day_tue"]
    assert "overlap" in errors["day_wed"]
    assert "does not exist" in errors["day_thu"]
    assert "“25/12/2026” is not a date" in errors["holidays"]


def test_the_next_days_show_weekdays_and_holidays() -> None:
    hours = HoursIn(
        timezone="Europe/Amsterdam",
        weekly={"mon": ["08:00-20:00"], "sat": ["09:00-13:00"]},
        holidays=[date(2026, 12, 28)],
    )
    days = next_days(hours, date(2026, 12, 26), 14)  # a Saturday
    assert len(days) == 14 and days[0].day == date(2026, 12, 26)
    assert (days[0].openings, days[0].why) == ("09:00-13:00", "Saturday")
    assert days[1].closed and days[1].why == "Sunday"
    assert days[2].closed and days[2].why == "holiday"  # Monday 28 December
    assert days[9].openings == "08:00-20:00"  # Monday 4 January


def test_blackouts_name_known_alert_types_and_show_in_the_preview() -> None:
    known = frozenset({"large_debit", "low_balance"})
    hours, errors = hours_from_form(
        form(blackouts="2026-12-31: low_balance, large_debit\n\n2026-12-31: low_balance"),
        alert_types=known,
    )
    assert errors == {} and hours is not None
    assert hours.blackouts == {date(2026, 12, 31): ["large_debit", "low_balance"]}
    assert hours_as_form(hours)["blackouts"] == "2026-12-31: large_debit, low_balance"
    [day] = next_days(hours, date(2026, 12, 31), 1)
    assert day.blackout == ("large_debit", "low_balance")
    for text, said in (
        ("31-12-2026: low_balance", "does not start with a date"),
        ("2026-12-31", "names no alert type"),
        ("2026-12-31: marketing_offer", "marketing_offer: no alert type has this key"),
    ):
        hours, errors = hours_from_form(form(blackouts=text), alert_types=known)
        assert hours is None and said in errors["blackouts"], text
