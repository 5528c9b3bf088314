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


def test_the_warninglist_defaults_table_is_the_code() -> None:
    from iocfeed.lifecycle.warninglist_defaults import DEFAULT_POLICIES

    text = (README.parent / "docs" / "WARNINGLISTS.md").read_text("utf-8")
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| `")]
    documented = {
        cells[1].strip().strip("`"): cells[2].strip() for cells in rows if len(cells) == 6
    }
    assert documented == {name: policy.value for name, policy in DEFAULT_POLICIES.items()}
