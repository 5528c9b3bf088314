"""STIX 2.0 and 2.1 import: indicators, CVE vulnerabilities and ATT&CK attack-patterns.

Theory of operation. A bundle is read whole (its objects refer to each other in any order),
then each object in turn becomes at most one record; line numbers are 1-based positions in
the bundle's ``objects`` array.

- ``indicator`` with a single-comparison pattern (``iocfeed.formats.stixpattern``) → a raw
  indicator; any other pattern, or a pattern that is not ``stix``, → ``Rejected`` naming it.
  ``confidence`` is passed on as text, ``labels`` become tags, ``name`` and ``description``
  the description, ``valid_from`` first_seen, ``valid_until`` and ``revoked`` as they are.
  STIX 2.0 (objects without ``spec_version``) puts the indicator type vocabulary in
  ``labels`` (``malicious-activity``, …): those words are types, not tags, and are dropped.
- Techniques: the ATT&CK ids of attack-patterns the indicator ``indicates`` or ``uses``,
  and of attack-patterns used by what it indicates (indicator → campaign/malware/intrusion
  set → attack-pattern), which is how Unit 42's reports link them.
- TLP: the most restrictive TLP among ``object_marking_refs`` — the official TLP 1.0 and
  2.0 marking definitions, or TLP marking definitions inside the bundle.
- Source: the name of the ``created_by_ref`` identity when the bundle includes it.
- ``vulnerability`` with a ``cve`` external reference → type cve; ``attack-pattern`` with a
  ``mitre-attack`` external id → type mitre_attack. Without those ids they, like every other
  object type (report, identity, relationship, marking-definition, …), are skipped silently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from iocfeed.formats.fields import excerpt, json_excerpt, whole_text
from iocfeed.formats.jsonrecord import json_kind
from iocfeed.formats.stixpattern import parse_pattern
from iocfeed.indicators.model import IocType, RawIndicator, Rejected, Tlp

# The official TLP marking definitions (reference/stix-taxii.md): TLP 2.0, then TLP 1.0.
TLP_MARKINGS: dict[str, Tlp] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}

# TLP words as marking definitions spell them (TLP 1.0 ``definition.tlp``, TLP 2.0 names).
TLP_WORDS: dict[str, Tlp] = {
    "white": Tlp.CLEAR,
    "clear": Tlp.CLEAR,
    "green": Tlp.GREEN,
    "amber": Tlp.AMBER,
    "amber+strict": Tlp.AMBER_STRICT,
    "red": Tlp.RED,
}

# STIX 2.0's indicator-label vocabulary (2.1's indicator_types): types, not tags.
STIX20_INDICATOR_LABELS: frozenset[str] = frozenset(
    {
        "anomalous-activity",
        "anonymization",
        "attribution",
        "benign",
        "compromised",
        "malicious-activity",
        "unknown",
    }
)

ATTACK_SOURCES: frozenset[str] = frozenset(
    {"mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"}
)
CVE_SOURCE = "cve"

STIX_BUNDLE = "bundle"

# Relationship types by which an object points at the techniques it shows or employs.
TECHNIQUE_LINKS: frozenset[str] = frozenset({"indicates", "uses"})


def read_stix(source: Iterable[str]) -> Iterator[RawIndicator | Rejected]:
    """Records from a STIX bundle, a TAXII envelope (``objects``) or a bare array of objects."""
    try:
        document = orjson.loads(whole_text(source))
    except orjson.JSONDecodeError as exc:
        yield Rejected(
            exc.lineno, f"not valid JSON: {exc.msg} at column {exc.colno}", whole_file=True
        )
        return
    if isinstance(document, dict) and isinstance(document.get("objects"), list):
        objects = document["objects"]
    elif isinstance(document, list):
        objects = document
    elif isinstance(document, dict) and "type" in document:
        objects = [document]
    else:
        yield Rejected(1, f"expected a STIX bundle, got {json_kind(document)}", whole_file=True)
        return
    yield from records_from_objects(objects)


def records_from_objects(objects: Iterable[Mapping[str, Any]]) -> Iterator[RawIndicator | Rejected]:
    """Records from STIX objects already parsed (a bundle's ``objects``, a TAXII POST)."""
    items = list(objects)
    links = _Links.of(items)
    for number, obj in enumerate(items, start=1):
        if not isinstance(obj, Mapping):
            yield Rejected(number, f"expected a STIX object, got {json_kind(obj)}")
            continue
        kind = obj.get("type")
        if not isinstance(kind, str):
            yield Rejected(number, "a STIX object without a type", json_excerpt(obj)[0])
            continue
        read = _READERS.get(kind)
        if read is not None and (record := read(number, obj, links)) is not None:
            yield record


@dataclass(slots=True)
class _Links:
    """What the bundle says about objects beyond themselves: markings, authors, techniques."""

    tlp_by_marking: dict[str, Tlp] = field(default_factory=lambda: dict(TLP_MARKINGS))
    identity_names: dict[str, str] = field(default_factory=dict)
    technique_by_pattern: dict[str, str] = field(default_factory=dict)
    techniques_of: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    indicated_by: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, objects: Iterable[object]) -> _Links:
        links = cls()
        relationships: list[Mapping[str, Any]] = []
        for obj in objects:
            if not isinstance(obj, Mapping) or not isinstance(obj.get("id"), str):
                continue
            kind = obj.get("type")
            if kind == "marking-definition":
                if (tlp := _marking_tlp(obj)) is not None:
                    links.tlp_by_marking[obj["id"]] = tlp
            elif kind == "identity" and isinstance(obj.get("name"), str):
                links.identity_names[obj["id"]] = obj["name"]
            elif kind == "attack-pattern":
                if (technique := _external_id(obj, ATTACK_SOURCES)) is not None:
                    links.technique_by_pattern[obj["id"]] = technique
            elif kind == "relationship":
                relationships.append(obj)
        for relationship in relationships:
            kind, source, target = (
                relationship.get(key) for key in ("relationship_type", "source_ref", "target_ref")
            )
            if not isinstance(source, str) or not isinstance(target, str):
                continue
            technique = links.technique_by_pattern.get(target)
            if technique is not None and kind in TECHNIQUE_LINKS:
                links.techniques_of[source].add(technique)
            elif kind == "indicates":
                links.indicated_by[source].append(target)
        return links

    def techniques(self, obj: Mapping[str, Any]) -> tuple[str, ...]:
        """The indicator's own techniques and those of what it indicates, sorted."""
        own_id = obj.get("id")
        if not isinstance(own_id, str):
            return ()
        found = set(self.techniques_of.get(own_id, ()))
        for target in self.indicated_by.get(own_id, ()):
            found |= self.techniques_of.get(target, set())
        return tuple(sorted(found))

    def tlp(self, obj: Mapping[str, Any]) -> str | None:
        """The most restrictive TLP the object is marked with, if any."""
        refs = obj.get("object_marking_refs")
        if not isinstance(refs, list):
            return None
        levels = [
            self.tlp_by_marking[ref]
            for ref in refs
            if isinstance(ref, str) and ref in self.tlp_by_marking
        ]
        return max(levels).value if levels else None

    def source(self, obj: Mapping[str, Any]) -> str | None:
        author = obj.get("created_by_ref")
        return self.identity_names.get(author) if isinstance(author, str) else None


def _indicator(number: int, obj: Mapping[str, Any], links: _Links) -> RawIndicator | Rejected:
    pattern = obj.get("pattern")
    if not isinstance(pattern, str):
        return Rejected(number, "indicator without a pattern", _text(obj, "id") or "")
    pattern_type = obj.get("pattern_type", "stix")
    if pattern_type != "stix":
        return Rejected(
            number, f"{pattern_type} patterns are not read, only stix", excerpt(pattern)
        )
    parsed = parse_pattern(pattern)
    if parsed is None:
        return Rejected(
            number,
            f"pattern {excerpt(pattern, 120)} is not one comparison of an IP address, domain, "
            "URL, e-mail address or file hash",
            excerpt(pattern),
        )
    ioc_type, value = parsed
    vocabulary = STIX20_INDICATOR_LABELS if obj.get("spec_version", "2.0") == "2.0" else None
    return RawIndicator(
        line=number,
        value=value,
        type=ioc_type.value,
        confidence=_confidence(obj),
        tags=_labels(obj, without=vocabulary),
        techniques=links.techniques(obj),
        description=_description(obj, value),
        source=links.source(obj),
        tlp=links.tlp(obj),
        first_seen=_text(obj, "valid_from"),
        valid_until=_text(obj, "valid_until"),
        revoked=obj.get("revoked") is True,
    )


def _vulnerability(number: int, obj: Mapping[str, Any], links: _Links) -> RawIndicator | None:
    cve = _external_id(obj, frozenset({CVE_SOURCE}))
    if cve is None:
        return None
    return _described_object(
        number, obj, links, ioc_type=IocType.CVE, value=cve, description=_description(obj, cve)
    )


def _attack_pattern(number: int, obj: Mapping[str, Any], links: _Links) -> RawIndicator | None:
    technique = _external_id(obj, ATTACK_SOURCES)
    if technique is None:
        return None
    # ATT&CK descriptions run to paragraphs; the name ("T1112: Modify Registry") says enough.
    name = _text(obj, "name")
    return _described_object(
        number, obj, links, ioc_type=IocType.MITRE_ATTACK, value=technique, description=name
    )


def _described_object(
    number: int,
    obj: Mapping[str, Any],
    links: _Links,
    *,
    ioc_type: IocType,
    value: str,
    description: str | None,
) -> RawIndicator:
    return RawIndicator(
        line=number,
        value=value,
        type=ioc_type.value,
        confidence=_confidence(obj),
        tags=_labels(obj),
        description=description,
        source=links.source(obj),
        tlp=links.tlp(obj),
        revoked=obj.get("revoked") is True,
    )


_Reader = Callable[[int, Mapping[str, Any], _Links], RawIndicator | Rejected | None]

# STIX object type → how it becomes a record; every other type is skipped.
_READERS: dict[str, _Reader] = {
    "indicator": _indicator,
    "vulnerability": _vulnerability,
    "attack-pattern": _attack_pattern,
}


def _marking_tlp(obj: Mapping[str, Any]) -> Tlp | None:
    """The TLP level a marking definition stands for, if it is a TLP marking."""
    definition = obj.get("definition")
    if obj.get("definition_type") == "tlp" and isinstance(definition, Mapping):
        return TLP_WORDS.get(str(definition.get("tlp", "")).lower())
    extensions = obj.get("extensions")
    if isinstance(extensions, Mapping):
        for extension in extensions.values():
            if isinstance(extension, Mapping) and "tlp_2_0" in extension:
                return TLP_WORDS.get(str(extension["tlp_2_0"]).lower())
    name = str(obj.get("name", "")).lower()
    return TLP_WORDS.get(name.removeprefix("tlp:")) if name.startswith("tlp:") else None


def _external_id(obj: Mapping[str, Any], sources: frozenset[str]) -> str | None:
    references = obj.get("external_references")
    if not isinstance(references, list):
        return None
    for reference in references:
        if (
            isinstance(reference, Mapping)
            and str(reference.get("source_name", "")).lower() in sources
            and isinstance(reference.get("external_id"), str)
        ):
            external_id: str = reference["external_id"]
            return external_id
    return None


def _confidence(obj: Mapping[str, Any]) -> str | None:
    confidence = obj.get("confidence")
    if isinstance(confidence, int) and not isinstance(confidence, bool):
        return str(confidence)
    return confidence if isinstance(confidence, str) else None


def _labels(obj: Mapping[str, Any], without: frozenset[str] | None = None) -> tuple[str, ...]:
    labels = obj.get("labels")
    if not isinstance(labels, list):
        return ()
    dropped = without or frozenset()
    return tuple(label for label in labels if isinstance(label, str) and label not in dropped)


def _description(obj: Mapping[str, Any], value: str) -> str | None:
    """``name: description``, leaving out a name that only repeats the value."""
    name, description = _text(obj, "name"), _text(obj, "description")
    if name == value or (name and description and description.startswith(name)):
        name = None
    parts = [part for part in (name, description) if part]
    return ": ".join(parts) if parts else None


def _text(obj: Mapping[str, Any], key: str) -> str | None:
    text = obj.get(key)
    return (text.strip() or None) if isinstance(text, str) else None
