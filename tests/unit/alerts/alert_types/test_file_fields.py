"""The studio's "from the bank's file" placeholders are fields the adapters really fill, and
each reads as a template attribute without colliding with a mapping's own methods."""

from __future__ import annotations

from alerts.alert_types.content import EventData
from alerts.alert_types.review import FILE_EXAMPLES, FILE_FIELDS, PLACEHOLDERS
from xml_adapters.check import describe_adapters


def test_every_offered_field_is_filled_by_an_adapter() -> None:
    filled = {
        field
        for adapter in describe_adapters()
        for record in adapter.get("records", [])
        for field in record["fields"]
    }
    assert set(FILE_FIELDS) <= filled, sorted(set(FILE_FIELDS) - filled)


def test_each_reads_as_data_dot_name_and_none_shadows_another_placeholder() -> None:
    assert not set(FILE_FIELDS) & set(dir(EventData))  # `data.items` would be a method
    assert not set(FILE_FIELDS) & set(PLACEHOLDERS)
    assert all(FILE_FIELDS.values())


def test_the_preview_has_an_example_of_each() -> None:
    assert set(FILE_EXAMPLES) == set(FILE_FIELDS) and all(FILE_EXAMPLES.values())
