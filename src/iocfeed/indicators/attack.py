"""The MITRE ATT&CK technique catalogue, offline.

Technique id → name, tactics (kill-chain phase names) and URL, read once from the ATT&CK
cluster that the ``pymispgalaxies`` package ships, so nothing is downloaded at run time.
Techniques that belong to no current tactic (the retired PRE-ATT&CK matrix) are left out,
which makes their ids unknown.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from iocfeed.errors import InvalidIndicator
from iocfeed.package_data import package_folder

# ATT&CK tactic short names, in matrix order; they are STIX kill-chain phase names.
TACTICS: tuple[str, ...] = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)

_TECHNIQUE_ID = re.compile(r"T\d{4}(?:\.\d{3})?")
_CLUSTER = ("data", "misp-galaxy", "clusters", "mitre-attack-pattern.json")
_MATRICES = ("attack-", "mobile-attack-")


@dataclass(frozen=True, slots=True)
class Technique:
    """One ATT&CK (sub-)technique."""

    id: str
    name: str
    tactics: tuple[str, ...]

    @property
    def url(self) -> str:
        return "https://attack.mitre.org/techniques/" + self.id.replace(".", "/") + "/"


@functools.cache
def catalogue() -> dict[str, Technique]:
    """Every known technique by id (loaded once per process)."""
    cluster = package_folder("pymispgalaxies").joinpath(*_CLUSTER).read_text("utf-8")
    techniques: dict[str, Technique] = {}
    for entry in json.loads(cluster)["values"]:
        technique_id = entry["meta"].get("external_id", "")
        if not _TECHNIQUE_ID.fullmatch(technique_id):
            continue
        phases = {
            chain.split(":", 1)[1]
            for chain in entry["meta"].get("kill_chain", [])
            if chain.startswith(_MATRICES)
        }
        tactics = tuple(tactic for tactic in TACTICS if tactic in phases)
        if not tactics:
            continue
        name = entry["value"].removesuffix(f" - {technique_id}")
        techniques[technique_id] = Technique(technique_id, name, tactics)
    return techniques


def technique(technique_id: str) -> Technique | None:
    """The technique with this exact id, or ``None``."""
    return catalogue().get(technique_id)


def canonical_technique_id(raw: str) -> str:
    """``t1566.001`` → ``T1566.001``; unknown or malformed ids are rejected with a reason."""
    candidate = raw.strip().upper()
    if not _TECHNIQUE_ID.fullmatch(candidate):
        raise InvalidIndicator(
            f"ATT&CK technique id must look like T1234 or T1234.001, got {raw.strip()!r}"
        )
    if candidate not in catalogue():
        raise InvalidIndicator(f"unknown ATT&CK technique {candidate}")
    return candidate
