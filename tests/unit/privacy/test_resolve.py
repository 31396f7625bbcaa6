"""Erasure requests resolve to persons by the same normalisation and keyed hashes identity uses."""

import polars as pl

from lakehouse.identity.pii import pseudonymise
from lakehouse.privacy.footprint import marks, own_hashes, own_values
from lakehouse.privacy.landing import blank_lines, lines_holding
from lakehouse.privacy.resolve import Request, lookups, match, normalised

KEY = b"k" * 32


def _map(rows):
    return pl.DataFrame(rows, schema=["person_id", "identifier_type", "identifier_hash"],
                        orient="row")


def test_an_email_is_normalised_as_identity_normalises_it_then_matched_by_hash():
    the_map = _map([("P1", "email", pseudonymise("jane.doe@example.org", KEY)),
                    ("P2", "email", pseudonymise("other@example.org", KEY))])
    wanted = lookups([Request("email", "  Jane.Doe+news@Example.org ")], KEY)
    assert match(the_map, wanted) == ["P1"]


def test_a_phone_in_any_format_matches_its_e164_hash():
    the_map = _map([("P7", "phone", pseudonymise("+13035557731", KEY))])
    for typed in ("(303) 555-7731", "+1 303 555 7731", "303.555.7731"):
        assert match(the_map, lookups([Request("phone", typed)], KEY)) == ["P7"]


def test_an_email_record_is_found_by_its_address_as_sent_and_loyalty_ids_are_trimmed():
    the_map = _map([("P3", "record", pseudonymise("Sent.As@Example.org", KEY)),
                    ("P4", "loyalty_id", pseudonymise("600123", KEY))])
    assert match(the_map, lookups([Request("email", "Sent.As@Example.org")], KEY)) == ["P3"]
    assert match(the_map, lookups([Request("loyalty_id", " 600123 ")], KEY)) == ["P4"]
    assert normalised("phone", "12345") is None  # no phone: looks nothing up
    assert lookups([Request("phone", "12345")], KEY).height == 0


def test_values_shared_with_another_persons_record_do_not_mark_rows():
    obs = pl.DataFrame({"source": ["loyalty", "loyalty", "web"],
                        "record_id": ["M1", "M1", "C9"],
                        "identifier_type": ["email", "device_id", "device_id"],
                        "value": ["a@x.org", "tablet-1", "tablet-1"]})
    records = pl.DataFrame({"source": ["loyalty"], "record_id": ["M1"]})
    assert own_values(obs, records) == {"a@x.org"}


def test_rows_are_marked_by_whole_values_in_any_case_and_struct_fields():
    frame = pl.DataFrame({"id": ["o1", "o2", "o3"],
                          "customer": [{"email": "A@X.org"}, {"email": "b@x.org"}, None],
                          "raw": [None, None, 'broken {"email":"a@x.org"']})
    assert frame.filter(marks(frame, {"a@x.org"}))["id"].to_list() == ["o1"]
    found = frame.filter(marks(frame, {"a@x.org"}, ["a@x.org"]))["id"].to_list()
    assert found == ["o1", "o3"]


def test_landing_lines_are_blanked_in_place_keeping_line_numbers():
    data = b"h1,h2\nx,a@x.org\ny,b\n"
    numbers = lines_holding(data, ["A@X.ORG"])
    assert numbers == {2}
    assert blank_lines(data, numbers) == b"h1,h2\n\ny,b\n"


def test_a_hash_another_person_holds_too_is_not_the_persons_alone():
    the_map = _map([("P1", "email", "h-mail"), ("P1", "payment_fingerprint", "h-card"),
                    ("P2", "payment_fingerprint", "h-card")])
    assert own_hashes(the_map, ["P1"]) == {"h-mail"}
