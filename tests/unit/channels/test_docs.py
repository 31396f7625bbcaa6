"""The channel contract as documentation (lakehouse/channels/docs.py): the README holds it."""

from pathlib import Path

from lakehouse.channels.docs import channels_markdown


def test_readme_lists_the_channel_contract_as_generated():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert channels_markdown() in readme, (
        "README channel table is stale: paste the output of `python -m lakehouse.channels.docs`"
    )
