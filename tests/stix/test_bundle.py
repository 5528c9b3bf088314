"""Whole exports: object order, every option combination judged, streamed JSON, MISP import."""

from __future__ import annotations

import itertools
import sys
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import orjson
import pytest
import stix2

from iocfeed.indicators.model import IocType, Tlp
from iocfeed.stix.bundle import (
    build_objects,
    new_bundle_id,
    serialize_bundle,
    serialize_objects,
)
from iocfeed.stix.markings import marking_definition, marking_id
from iocfeed.stix.objects import ExportOptions

from .factories import OBSERVABLE_TYPES, PRODUCER, SAMPLE_VALUES, T0, make_indicator, one_of_each
from .judges import assert_stix_clean

OPTION_GRID = [
    ExportOptions(
        include_identity=identity,
        include_markings=markings,
        tlp=tlp,
        tlp_version=version,
        include_observables=observables,
    )
    for identity, markings, tlp, version, observables in itertools.product(
        (True, False), (True, False), (None, Tlp.AMBER_STRICT), (2, 1), (False, True)
    )
]

NOT_CREATED_BY = {"marking-definition", "identity", "ipv4-addr", "ipv6-addr", "domain-name",
                  "url", "email-addr", "file"}  # fmt: skip


def export_sample() -> list[Any]:
    """Every IOC type; operator TLPs, revoked and expiring versions, linked techniques."""
    indicators = one_of_each(techniques=("T1566.001", "T1059"))
    indicators[0] = make_indicator(
        IocType.IPV4, tlp=Tlp.RED, modified=T0 + timedelta(days=2), techniques=("T1566.001",)
    )
    indicators[2] = make_indicator(
        IocType.DOMAIN, revoked=True, valid_until=T0, modified=T0 + timedelta(hours=18)
    )
    indicators[3] = make_indicator(
        IocType.URL, value="http://xn--bcher-kva.example/o'brien\\ä b", modified=T0
    )
    return indicators


def serialised(objects: list[dict[str, Any]]) -> dict[str, Any]:
    bundle_id = new_bundle_id()
    loaded: dict[str, Any] = orjson.loads(b"".join(serialize_bundle(objects, bundle_id)))
    assert loaded["objects"] == objects
    assert loaded["id"] == bundle_id
    return loaded


@pytest.mark.parametrize(
    "options",
    OPTION_GRID,
    ids=lambda o: (
        f"identity={o.include_identity}-markings={o.include_markings}-tlp={o.tlp}"
        f"-v{o.tlp_version}-observables={o.include_observables}"
    ),
)
def test_every_option_combination_is_clean(options: ExportOptions) -> None:
    indicators = export_sample()
    objects = build_objects(indicators, options, PRODUCER, now=T0)
    bundle = serialised(objects)
    assert_stix_clean(bundle)

    types = [obj["type"] for obj in objects]
    position = 0
    if options.include_identity:
        assert objects[0] == PRODUCER.identity()
        position = 1
    referenced = {ref for obj in objects for ref in obj.get("object_marking_refs", [])}
    markings = [obj for obj in objects if obj["type"] == "marking-definition"]
    if options.include_markings:
        assert {marking["id"] for marking in markings} == referenced
        assert types[position : position + len(markings)] == ["marking-definition"] * len(markings)
        position += len(markings)
    else:
        assert markings == []
    sdos = objects[position : position + len(indicators)]
    assert [sdo["id"] for sdo in sdos] == [indicator.stix_id for indicator in indicators]

    for obj in objects:
        if obj["type"] not in {"marking-definition", "identity"}:
            assert len(obj["object_marking_refs"]) == 1
        if obj["type"] not in NOT_CREATED_BY:
            assert ("created_by_ref" in obj) == options.include_identity
    has_observables = any(obj["type"] == "observed-data" for obj in objects)
    assert has_observables == options.include_observables
    # Seven indicators name T1566.001, whose attack-pattern is in the export; each of the
    # eight live observable indicators has one based-on link to its observed-data (the
    # revoked one ships none).
    assert types.count("relationship") == 7 + 8 * options.include_observables

    expected_tlp = Tlp.AMBER_STRICT if options.tlp else Tlp.GREEN
    assert sdos[1]["object_marking_refs"] == [marking_id(expected_tlp, options.tlp_version)]
    # The operator's RED is never lowered by the override.
    assert sdos[0]["object_marking_refs"] == [marking_id(Tlp.RED, options.tlp_version)]


def test_tlp_1_export_keeps_amber_strict_as_tlp_2() -> None:
    indicators = [make_indicator(IocType.IPV4, tlp=Tlp.AMBER_STRICT), make_indicator(tlp=None)]
    objects = build_objects(indicators, ExportOptions(tlp_version=1), PRODUCER, now=T0)
    markings = [obj for obj in objects if obj["type"] == "marking-definition"]
    assert markings == [marking_definition(Tlp.GREEN, 1), marking_definition(Tlp.AMBER_STRICT, 2)]
    assert_stix_clean(serialised(objects))


def test_markings_come_in_tlp_order_and_only_those_used() -> None:
    indicators = [
        make_indicator(IocType.IPV4, tlp=Tlp.RED),
        make_indicator(IocType.IPV6, tlp=Tlp.CLEAR),
        make_indicator(IocType.DOMAIN, tlp=Tlp.RED),
    ]
    objects = build_objects(indicators, ExportOptions(include_identity=False), PRODUCER, now=T0)
    assert [obj["id"] for obj in objects[:2]] == [marking_id(Tlp.CLEAR), marking_id(Tlp.RED)]
    assert [obj["type"] for obj in objects[2:]] == ["indicator"] * 3


def test_indicates_links_only_to_attack_patterns_in_the_export() -> None:
    phish = make_indicator(IocType.DOMAIN, techniques=("T1566.001", "T1059", "T1566.001"))
    technique = make_indicator(IocType.MITRE_ATTACK, value="T1566.001", tlp=Tlp.AMBER)
    objects = build_objects([phish, technique], ExportOptions(), PRODUCER, now=T0)
    (indicates,) = [obj for obj in objects if obj["type"] == "relationship"]
    assert indicates["relationship_type"] == "indicates"
    assert (indicates["source_ref"], indicates["target_ref"]) == (phish.stix_id, technique.stix_id)
    assert (indicates["created"], indicates["modified"]) == (
        "2026-05-01T12:00:00.123Z",
        "2026-05-01T13:00:00.123Z",
    )
    # The more restrictive end decides the marking: the attack-pattern's AMBER.
    assert indicates["object_marking_refs"] == [marking_id(Tlp.AMBER)]
    assert_stix_clean(serialised(objects))

    alone = build_objects([phish], ExportOptions(), PRODUCER, now=T0)
    assert [obj for obj in alone if obj["type"] == "relationship"] == []


def test_relationship_ids_are_stable_across_exports() -> None:
    phish = make_indicator(techniques=("T1566.001",))
    technique = make_indicator(IocType.MITRE_ATTACK)
    options = ExportOptions(include_observables=True)

    def relationship_ids() -> list[str]:
        objects = build_objects([phish, technique], options, PRODUCER, now=T0)
        return [obj["id"] for obj in objects if obj["type"] == "relationship"]

    first = relationship_ids()
    assert len(first) == 2
    assert relationship_ids() == first


def test_an_empty_export() -> None:
    objects = build_objects([], ExportOptions(), PRODUCER, now=T0)
    assert objects == [PRODUCER.identity()]
    assert_stix_clean(serialised(objects))
    bare = build_objects([], ExportOptions(include_identity=False), PRODUCER, now=T0)
    assert bare == []
    assert serialised(bare) == {"type": "bundle", "id": ANY, "objects": []}
    assert_stix_clean(serialised(bare))


def test_serialize_streams_in_chunks_of_a_hundred() -> None:
    objects = [{"type": "x", "n": n} for n in range(250)]
    chunks = list(serialize_bundle(objects, "bundle--00000000-0000-4000-8000-000000000000"))
    assert len(chunks) == 5
    assert chunks[-1] == b"]}"
    assert orjson.loads(b"".join(chunks))["objects"] == objects

    array = list(serialize_objects(objects))
    assert len(array) == 5
    assert orjson.loads(b"".join(array)) == objects
    assert b"".join(serialize_objects([])) == b"[]"


def test_serialize_accepts_a_generator() -> None:
    objects = ({"n": n} for n in range(3))
    assert orjson.loads(b"".join(serialize_objects(objects))) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_new_bundle_ids_are_random_uuid4() -> None:
    first, second = new_bundle_id(), new_bundle_id()
    assert first != second
    assert stix2.Bundle(id=first).id == first


@pytest.fixture
def misp_parser() -> Iterator[Any]:
    """misp-stix's STIX 2 reader, imported for one test.

    Its dependency mixbox installs a vendored, old ``six`` import hook without
    ``find_spec``, which turns every later unresolved import into an ``ImportWarning``
    (an error here); the hook is taken out again afterwards.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportWarning)
        from misp_stix_converter import ExternalSTIX2toMISPParser
    yield ExternalSTIX2toMISPParser()
    sys.meta_path[:] = [
        finder for finder in sys.meta_path if not type(finder).__module__.startswith("mixbox.")
    ]


@pytest.mark.filterwarnings("ignore::ImportWarning")
def test_misp_reads_one_attribute_per_observable_indicator(misp_parser: Any) -> None:
    indicators = [make_indicator(ioc_type) for ioc_type in OBSERVABLE_TYPES]
    bundle = serialised(build_objects(indicators, ExportOptions(), PRODUCER, now=T0))
    parser = misp_parser
    parser.load_stix_bundle(stix2.parse(bundle, allow_custom=True))
    parser.parse_stix_bundle()
    attributes = {(a.type, a.value) for a in parser.misp_event.attributes}
    assert attributes == {
        ("ip-dst", SAMPLE_VALUES[IocType.IPV4]),
        ("ip-dst", SAMPLE_VALUES[IocType.IPV6]),
        ("domain", SAMPLE_VALUES[IocType.DOMAIN]),
        ("url", SAMPLE_VALUES[IocType.URL]),
        ("md5", SAMPLE_VALUES[IocType.MD5]),
        ("sha1", SAMPLE_VALUES[IocType.SHA1]),
        ("sha256", SAMPLE_VALUES[IocType.SHA256]),
        ("sha512", SAMPLE_VALUES[IocType.SHA512]),
        ("email-dst", SAMPLE_VALUES[IocType.EMAIL]),
    }
    assert len(parser.misp_event.attributes) == 9


@pytest.fixture
def slide() -> Iterator[Any]:
    """stix2-slider's STIX 2.1 → 1.2 converter; it too brings mixbox (see ``misp_parser``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportWarning)
        from stix2slider import slide_string
        from stix2slider.options import initialize_options
    initialize_options({"no_squirrel_gaps": True, "log_level": "CRITICAL"})
    yield slide_string
    sys.meta_path[:] = [
        finder for finder in sys.meta_path if not type(finder).__module__.startswith("mixbox.")
    ]


@pytest.mark.filterwarnings("ignore::ImportWarning")
def test_stix2_slider_takes_tlp_1_exports_but_not_amber_strict(slide: Any) -> None:
    """What the README tells consumers that know only TLP 1.0, such as stix2-slider."""
    options = ExportOptions(tlp_version=1)
    below = [make_indicator(IocType.IPV4, tlp=tlp) for tlp in (Tlp.CLEAR, Tlp.AMBER, Tlp.RED)]
    bundle = serialised(build_objects(below, options, PRODUCER, now=T0))
    assert "198.51.100.7" in slide(orjson.dumps(bundle).decode())
    strict = [make_indicator(IocType.IPV4, tlp=Tlp.AMBER_STRICT)]
    bundle = serialised(build_objects(strict, options, PRODUCER, now=T0))
    with pytest.raises(KeyError, match="definition"):  # it reads only TLP 1.0 definitions
        slide(orjson.dumps(bundle).decode())
