"""The README stays true: the values it tells users to paste are the ones the code uses."""

from __future__ import annotations

from pathlib import Path

from iocfeed.taxii.collections import COLLECTIONS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_taxii_collection_id() -> None:
    text = README.read_text("utf-8")
    for collection in COLLECTIONS:
        assert f"`{collection.id}`" in text, collection.title


def test_quick_start_is_the_two_commands() -> None:
    text = README.read_text("utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in quick_start.splitlines()[1:]]
    assert [c for c in commands if c] == ["make run", "make test"]
