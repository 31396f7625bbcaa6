"""The channel contract and landing-zone discovery (lakehouse/channels/registry.py)."""

import pytest

from lakehouse.channels import CHANNELS, NESTED, entity, entity_for_file


def test_every_landed_entity_has_a_key_and_typed_fields():
    known_types = {"str", "int", "float", "bool", "ts_iso", "ts_local", "epoch_ms", "epoch_s",
                   "date", "object", "array"}
    for channel in CHANNELS:
        for ent in channel.entities:
            names = [f.name for f in ent.all_fields]
            assert len(names) == len(set(names)), f"{channel.name}/{ent.name} repeats a field"
            assert {f.type for f in ent.all_fields} <= known_types
            if (channel.name, ent.name) not in NESTED:
                assert ent.key in names, f"{channel.name}/{ent.name} key {ent.key} not a field"
                assert ent.event_time is None or ent.event_time in names
            for f in ent.added_fields:
                assert not f.required, "fields that appear mid-stream must be optional"


def test_entity_for_file_maps_names_and_rejects_strays():
    assert entity_for_file("web", "events_20260101_000.jsonl").name == "events"
    assert entity_for_file("ads", "spend_20260101_000.csv").name == "spend"
    assert entity_for_file("ads", "clicks_20260101_000.jsonl").name == "clicks"
    with pytest.raises(ValueError, match=r"landing/web/notes.txt: not a known file name"):
        entity_for_file("web", "notes.txt")
    with pytest.raises(ValueError, match="unknown channel"):
        entity_for_file("fax", "x.csv")
    with pytest.raises(KeyError):
        entity("web", "nope")
