"""Mapping files are validated on load: the message names the file, the key and the fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.xml_adapters.support import EXAMPLE_MAPPINGS, write_mapping
from xml_adapters.base import MappingError
from xml_adapters.mapping import MappingAdapter
from xml_adapters.registry import BUILTIN_MAPPINGS, MAPPINGS_DIR

VALID = """
    key = "feed"
    title = "A feed"
    [[accept]]
    root = "Feed"
    namespaces = [""]
    [[records]]
    kind = "item"
    element = "Item"
    event_type = "item_seen"
    event_id = "{account_id}:{ref}"
    [records.fields]
    account_id = "@customer"
    ref = "@ref"
"""


def load(tmp_path: Path, text: str, name: str = "feed.toml") -> MappingAdapter:
    return MappingAdapter.from_file(write_mapping(tmp_path, text, name))


def error(tmp_path: Path, text: str, name: str = "feed.toml") -> str:
    with pytest.raises(MappingError) as caught:
        load(tmp_path, text, name)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / name) + ": "), message
    return message.removeprefix(str(tmp_path / name) + ": ")


def test_a_valid_mapping_loads(tmp_path: Path) -> None:
    adapter = load(tmp_path, VALID)
    assert (adapter.key, adapter.title, adapter.source) == (
        "feed",
        "A feed",
        str(tmp_path / "feed.toml"),
    )


@pytest.mark.parametrize("name", BUILTIN_MAPPINGS)
def test_every_builtin_mapping_is_valid(name: str) -> None:
    adapter = MappingAdapter.from_file(MAPPINGS_DIR / name)
    assert adapter.key == name.removesuffix(".toml")


def test_the_documented_example_is_valid() -> None:
    adapter = MappingAdapter.from_file(EXAMPLE_MAPPINGS / "README-example.toml")
    assert adapter.key == "example_waterworks"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'kind = "item"',
            'kind = "item"\ncolour = "red"',
            "records[0].colour: unknown key (see examples/mappings/README-example.toml",
        ),
        (
            'ref = "@ref"',
            'ref = { path = "@ref", colour = "red" }',
            "records[0].fields.ref.colour: unknown key",
        ),
        (
            'ref = "@ref"',
            'ref = "Item[["',
            "records[0].fields.ref.path[0]: bad XPath 'Item[[': not a valid XPath 1.0 expression",
        ),
        (
            'ref = "@ref"',
            'ref = ["@ref", "x:Ref"]',
            "records[0].fields.ref.path[1]: bad XPath 'x:Ref': unknown namespace prefix 'x' "
            "(declare it under [namespaces])",
        ),
        (
            'event_id = "{account_id}:{ref}"\n',
            "",
            "records[0].event_id: this key is required but missing",
        ),
        (
            'event_id = "{account_id}:{ref}"',
            'event_id = "same-for-all"',
            "records[0].event_id: the event id template names no field",
        ),
        (
            'event_id = "{account_id}:{ref}"',
            'event_id = "{account_id}:{reference}"',
            "records[0].event_id: template '{account_id}:{reference}' names reference, which is "
            "not a field of this record or a built-in",
        ),
        (
            'event_type = "item_seen"',
            'event_type = "item_{ref"',
            "records[0].event_type: bad template 'item_{ref': unclosed '{' at position 6",
        ),
        (
            'ref = "@ref"',
            'ref = { from = "later" }\nlater = "@later"',
            "records[0].fields.ref.from[0]: 'later' is not a field defined before 'ref'",
        ),
        (
            'ref = "@ref"',
            'ref = { path = "@ref", convert = "decimall" }',
            "records[0].fields.ref.convert[0]: 'decimall' is not allowed here; use 'strip',",
        ),
        (
            'ref = "@ref"',
            'ref = "@ref"\namount = "@amount"',
            "records[0].fields.amount.convert: the event amount must be a number: add convert = "
            '"decimal"',
        ),
        (
            'ref = "@ref"',
            'ref = "@ref"\nbooking_date = "@day"',
            "records[0].fields.booking_date: the booking date must be a date",
        ),
        (
            'ref = "@ref"',
            'ref = "@ref"\ncurrency = { path = "@ccy", convert = "decimal" }',
            "records[0].fields.currency.convert: currency is text; drop the decimal conversion",
        ),
        (
            'account_id = "@customer"\n',
            "",
            "records[0].fields: no `account_id` field: every record needs a customer key",
        ),
        (
            'ref = "@ref"',
            "ref = { required = true }",
            "records[0].fields.ref: give exactly one source",
        ),
        (
            'ref = "@ref"',
            'ref = { path = "@ref", template = "{account_id}" }',
            "records[0].fields.ref: give exactly one source: path (with an optional `from` "
            "fallback), from, template, value, count or switch (found: path/from and template)",
        ),
        (
            'ref = "@ref"',
            'ref = "@ref"\nline = "@line"',
            "records[0].fields.line: 'line' is reserved for the event itself",
        ),
        ('key = "feed"', 'key = "My Feed"', "key: 'My Feed' is not lower-case snake_case"),
        ('title = "A feed"\n', "", "title: this key is required but missing"),
        (
            'namespaces = [""]',
            'namespace_prefix = "urn:x:"',
            "accept[0]: `namespace_prefix` and `versions` go together",
        ),
        (
            'kind = "item"',
            'kind = "item"\ncontexts = ["order"]',
            "records[0].contexts[0]: unknown context 'order' (known: none are defined)",
        ),
        (
            'title = "A feed"',
            'title = "A feed"\nschema = "feed.dtd"',
            "schema: schema must name an .xsd file",
        ),
        ('title = "A feed"', 'title = "A feed', "not valid TOML: "),
    ],
    ids=[
        "unknown-key",
        "unknown-field-key",
        "bad-xpath",
        "unknown-prefix",
        "missing-event-id",
        "constant-event-id",
        "event-id-names-unknown-field",
        "unclosed-template",
        "forward-reference",
        "unknown-conversion",
        "amount-not-a-number",
        "booking-date-not-a-date",
        "text-attribute-typed",
        "no-customer-key",
        "no-source",
        "two-sources",
        "reserved-name",
        "bad-adapter-key",
        "missing-title",
        "half-versioned-namespace",
        "unknown-context",
        "schema-not-yet",
        "toml-syntax",
    ],
)
def test_invalid_mappings_say_where_and_what(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = VALID.replace(old, new, 1)
    assert text != VALID
    assert expected in error(tmp_path, text)


def test_yaml_mappings_are_accepted(tmp_path: Path) -> None:
    yaml_text = """
        key: yaml_feed
        title: A YAML feed
        accept:
          - root: Feed
            namespaces: [""]
        records:
          - kind: item
            element: Item
            event_type: item_seen
            event_id: "{account_id}:{ref}"
            fields:
              account_id: "@customer"
              ref: {from: account_id}
    """
    assert load(tmp_path, yaml_text, "feed.yaml").key == "yaml_feed"
    broken = yaml_text.replace("ref: {from: account_id}", "ref: {from: account_id")
    assert error(tmp_path, broken, "broken.yml").startswith("not valid YAML: ")


def test_other_file_kinds_are_refused(tmp_path: Path) -> None:
    assert "a mapping file must end in .toml, .yaml, .yml" in error(tmp_path, VALID, "feed.json")
    assert "the file must hold a table of keys" in error(tmp_path, "- a\n- b\n", "list.yaml")


def test_several_faults_are_counted(tmp_path: Path) -> None:
    text = VALID.replace('title = "A feed"\n', "").replace('kind = "item"', 'kind = "Item"')
    message = error(tmp_path, text)
    assert message.startswith("title: this key is required but missing")
    assert "(and 1 more problem(s))" in message
