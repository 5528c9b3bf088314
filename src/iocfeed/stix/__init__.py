"""STIX 2.1 output: ids, patterns, TLP markings, objects and bundles, as plain dicts."""

from iocfeed.stix.bundle import build_objects, new_bundle_id, serialize_bundle, serialize_objects
from iocfeed.stix.ids import new_stix_id, sco_id
from iocfeed.stix.markings import marking_definition, marking_id
from iocfeed.stix.objects import ExportOptions, Producer, object_tlp, observables_for, sdo_for
from iocfeed.stix.patterns import pattern_for

__all__ = [
    "ExportOptions",
    "Producer",
    "build_objects",
    "marking_definition",
    "marking_id",
    "new_bundle_id",
    "new_stix_id",
    "object_tlp",
    "observables_for",
    "pattern_for",
    "sco_id",
    "sdo_for",
    "serialize_bundle",
    "serialize_objects",
]
