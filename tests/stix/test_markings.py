"""TLP markings: the official ids pinned, every definition clean for the OASIS validator."""

from __future__ import annotations

import json

import pytest
import stix2

from iocfeed.indicators.model import Tlp
from iocfeed.stix.markings import marking_definition, marking_id

from .factories import bundle_of
from .judges import assert_stix_clean, validation_messages

# Copied from the OASIS TLP 2.0 marking definitions, not from the code under test.
TLP_2_IDS = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# STIX 2.1 §7.2.1.4; AMBER+STRICT has no TLP 1.0 object and keeps its TLP 2.0 one.
TLP_1_IDS = {
    Tlp.CLEAR: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    Tlp.GREEN: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    Tlp.AMBER: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}

TLP_1_LIBRARY = {
    Tlp.CLEAR: stix2.TLP_WHITE,
    Tlp.GREEN: stix2.TLP_GREEN,
    Tlp.AMBER: stix2.TLP_AMBER,
    Tlp.RED: stix2.TLP_RED,
}


@pytest.mark.parametrize("tlp", list(Tlp))
def test_tlp_2_ids_are_the_official_ones(tlp: Tlp) -> None:
    assert marking_id(tlp, 2) == TLP_2_IDS[tlp]
    assert marking_id(tlp) == TLP_2_IDS[tlp]


@pytest.mark.parametrize("tlp", list(Tlp))
def test_tlp_1_ids_are_the_stix_ones(tlp: Tlp) -> None:
    assert marking_id(tlp, 1) == TLP_1_IDS[tlp]


@pytest.mark.parametrize(("tlp", "version"), [(tlp, v) for tlp in Tlp for v in (1, 2)])
def test_each_definition_has_its_id_and_is_clean(tlp: Tlp, version: int) -> None:
    definition = marking_definition(tlp, version)
    assert definition["id"] == marking_id(tlp, version)
    assert_stix_clean(bundle_of([definition]))


def test_tlp_2_definition_is_exactly_the_official_object() -> None:
    assert marking_definition(Tlp.AMBER_STRICT, 2) == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:AMBER+STRICT",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "amber+strict",
            }
        },
    }


@pytest.mark.parametrize("tlp", list(Tlp))
def test_tlp_2_names_and_levels(tlp: Tlp) -> None:
    definition = marking_definition(tlp, 2)
    assert definition["name"] == f"TLP:{tlp.value.upper()}"
    extension = definition["extensions"][
        "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
    ]
    assert extension["tlp_2_0"] == tlp.value
    assert {"definition_type", "definition", "created_by_ref", "modified"}.isdisjoint(definition)


@pytest.mark.parametrize("tlp", sorted(TLP_1_LIBRARY))
def test_tlp_1_definitions_equal_the_stix2_library_objects(tlp: Tlp) -> None:
    assert marking_definition(tlp, 1) == json.loads(TLP_1_LIBRARY[tlp].serialize())


def test_amber_strict_keeps_tlp_2_in_a_tlp_1_export() -> None:
    assert marking_definition(Tlp.AMBER_STRICT, 1) == marking_definition(Tlp.AMBER_STRICT, 2)


def test_definitions_are_fresh_copies() -> None:
    definition = marking_definition(Tlp.GREEN)
    definition["name"] = "changed"
    assert marking_definition(Tlp.GREEN)["name"] == "TLP:GREEN"


def test_the_validator_rejects_a_misnamed_tlp_1_object() -> None:
    # The judge is strict about TLP objects, so the clean results above mean something.
    wrong = {**marking_definition(Tlp.CLEAR, 1), "name": "TLP:CLEAR"}
    assert validation_messages(bundle_of([wrong])) != []


@pytest.mark.parametrize("version", [0, 3])
def test_unknown_tlp_version_is_refused(version: int) -> None:
    with pytest.raises(ValueError, match="tlp_version"):
        marking_id(Tlp.GREEN, version)
    with pytest.raises(ValueError, match="tlp_version"):
        marking_definition(Tlp.GREEN, version)
