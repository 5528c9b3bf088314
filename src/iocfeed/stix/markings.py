"""TLP marking definitions: the official TLP 2.0 and TLP 1.0 objects and which one a TLP uses.

TLP 2.0 objects are the OASIS ones, expressed through the TLP 2.0 property extension;
TLP 1.0 objects are those of the STIX 2.1 specification itself (§7.2.1.4). TLP 1.0 has
no CLEAR (its WHITE means the same) and no AMBER+STRICT, which therefore keeps its TLP
2.0 object in a TLP 1.0 export (SPEC §2).
"""

from __future__ import annotations

from typing import Any

from iocfeed.indicators.model import Tlp

TLP_2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_2_CREATED = "2022-10-01T00:00:00.000Z"
TLP_1_CREATED = "2017-01-20T00:00:00.000Z"

# The five official TLP 2.0 marking definitions: level → (id, name).
TLP_2: dict[Tlp, tuple[str, str]] = {
    Tlp.CLEAR: ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR"),
    Tlp.GREEN: ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN"),
    Tlp.AMBER: ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER"),
    Tlp.AMBER_STRICT: (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "TLP:AMBER+STRICT",
    ),
    Tlp.RED: ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED"),
}

# The four TLP 1.0 marking definitions of STIX 2.1 §7.2.1.4: colour → id.
TLP_1: dict[str, str] = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}

# SPEC §2, ``tlp_version=1``: the TLP 1.0 colour for each level; ``None`` keeps TLP 2.0.
TLP_1_COLOUR: dict[Tlp, str | None] = {
    Tlp.CLEAR: "white",
    Tlp.GREEN: "green",
    Tlp.AMBER: "amber",
    Tlp.AMBER_STRICT: None,
    Tlp.RED: "red",
}

TLP_VERSIONS: frozenset[int] = frozenset({1, 2})


def _tlp_2_definition(tlp: Tlp) -> dict[str, Any]:
    marking_id, name = TLP_2[tlp]
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": TLP_2_CREATED,
        "name": name,
        "extensions": {
            TLP_2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": tlp.value},
        },
    }


def _tlp_1_definition(colour: str) -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_1[colour],
        "created": TLP_1_CREATED,
        "definition_type": "tlp",
        "name": f"TLP:{colour.upper()}",
        "definition": {"tlp": colour},
    }


def _check_version(tlp_version: int) -> None:
    if tlp_version not in TLP_VERSIONS:
        raise ValueError(f"tlp_version must be 1 or 2, got {tlp_version}")


def marking_id(tlp: Tlp, tlp_version: int = 2) -> str:
    """The id of the marking definition that marks ``tlp`` in a ``tlp_version`` export."""
    _check_version(tlp_version)
    colour = TLP_1_COLOUR[tlp] if tlp_version == 1 else None
    return TLP_1[colour] if colour is not None else TLP_2[tlp][0]


def marking_definition(tlp: Tlp, tlp_version: int = 2) -> dict[str, Any]:
    """The marking-definition object whose id ``marking_id`` gives (a fresh copy)."""
    _check_version(tlp_version)
    colour = TLP_1_COLOUR[tlp] if tlp_version == 1 else None
    return _tlp_1_definition(colour) if colour else _tlp_2_definition(tlp)
