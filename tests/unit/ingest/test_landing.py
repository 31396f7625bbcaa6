"""What the landing zone holds: ``discover`` over real files."""

from __future__ import annotations

from pathlib import Path

from lakehouse.home import Home
from lakehouse.ingest.landing import batch_id_for, discover


def test_one_channel_is_what_the_whole_zone_holds_of_it(tmp_path: Path) -> None:
    """A landing asset discovers its own channel only (each file is hashed): the same files,
    identities and batch id as the whole zone filtered to it; hidden and in-flight files are
    left out either way, and a channel name is not a pattern."""
    home = Home.resolve(tmp_path)
    for rel in ("web/events_20260101_1.jsonl", "web/events_20260102_1.jsonl",
                "web/.hidden.jsonl", "web/events_20260103_1.jsonl.part",
                "app/events_20260101_1.jsonl", "pos/transactions_20260101_1.csv"):
        path = home.landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{rel}\n")
    whole = discover(home)
    web = discover(home, "web")
    assert [f.relpath for f in web] == ["web/events_20260101_1.jsonl",
                                         "web/events_20260102_1.jsonl"]
    assert web == [f for f in whole if f.channel == "web"]
    assert batch_id_for(web) == batch_id_for([f for f in whole if f.channel == "web"])
    assert discover(home, "w*") == [] and discover(home, "never_delivered") == []
