"""The indicator value types: what an IOC is, before and after it is stored (SPEC §1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class IocType(enum.StrEnum):
    """The eleven IOC types of SPEC §1."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DOMAIN = "domain"
    URL = "url"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"
    EMAIL = "email"
    CVE = "cve"
    MITRE_ATTACK = "mitre_attack"


HASH_TYPES: frozenset[IocType] = frozenset(
    {IocType.MD5, IocType.SHA1, IocType.SHA256, IocType.SHA512}
)


class Confidence(enum.StrEnum):
    """How sure the source is; STIX integers live in ``iocfeed.stix``."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Tlp(enum.StrEnum):
    """TLP 2.0 levels, declared from least to most restricted."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @property
    def rank(self) -> int:
        return _TLP_ORDER.index(self)

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Tlp):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Tlp):
            return NotImplemented
        return self.rank < other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Tlp):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Tlp):
            return NotImplemented
        return self.rank > other.rank


_TLP_ORDER: tuple[Tlp, ...] = tuple(Tlp)

# SPEC §2: the TLP an indicator gets when the operator set none.
TLP_BY_CONFIDENCE: dict[Confidence, Tlp] = {
    Confidence.HIGH: Tlp.GREEN,
    Confidence.MEDIUM: Tlp.AMBER,
    Confidence.LOW: Tlp.CLEAR,
}


def effective_tlp(tlp: Tlp | None, confidence: Confidence) -> Tlp:
    """SPEC §4: the operator's TLP, else the one the confidence gives (never the score)."""
    return tlp if tlp is not None else TLP_BY_CONFIDENCE[confidence]


@dataclass(frozen=True, slots=True)
class IndicatorInput:
    """One normalised indicator as a source states it: what an import or a POST carries.

    ``value`` is canonical for ``type`` (see ``iocfeed.indicators.normalize``); tags are
    lower-cased and de-duplicated, techniques are known ATT&CK ids. Times are aware UTC.
    """

    type: IocType
    value: str
    confidence: Confidence = Confidence.MEDIUM
    tags: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    description: str = ""
    source: str = ""
    tlp: Tlp | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    valid_until: datetime | None = None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Indicator:
    """One stored version of an indicator: everything STIX output is built from.

    ``stix_id`` is the UUIDv4 given when the indicator was first stored and kept for ever;
    ``modified`` changes only when something visible in STIX changed. ``date_added`` is the
    server's strictly increasing time of this version (TAXII's ``date_added``).
    """

    stix_id: str
    type: IocType
    value: str
    confidence: Confidence
    tags: tuple[str, ...]
    techniques: tuple[str, ...]
    description: str
    source: str
    tlp: Tlp | None
    first_seen: datetime
    last_seen: datetime
    valid_until: datetime | None
    revoked: bool
    created: datetime
    modified: datetime
    date_added: datetime
    seq: int = field(default=0, compare=False)
    score: int | None = None
    """The STIX ``confidence`` this version exports (``lifecycle.decay``); ``None``: the
    confidence's fixed integer."""
    penalty: int = 0
    """Points false-positive reports took off the base score (``lifecycle.sightings``)."""
    decay_until: datetime | None = None
    """When the decay model revokes the indicator; exported as ``valid_until`` if earlier."""
    decay_next: datetime | None = None
    """When the decay sweep should look at this version again; ``None``: never."""

    @property
    def effective_tlp(self) -> Tlp:
        """SPEC §4 (:func:`effective_tlp`)."""
        return effective_tlp(self.tlp, self.confidence)

    @property
    def expires(self) -> datetime | None:
        """The earlier of the stated ``valid_until`` and the decay model's revocation."""
        if self.decay_until is None:
            return self.valid_until
        if self.valid_until is None:
            return self.decay_until
        return min(self.valid_until, self.decay_until)

    def withdrawn(self, now: datetime) -> bool:
        """Revoked, or past its expiry at ``now`` (a sweep revokes it soon)."""
        expires = self.expires
        return self.revoked or (expires is not None and expires <= now)


@dataclass(frozen=True, slots=True)
class RawIndicator:
    """One indicator as a file or request states it, before validation.

    Readers in ``iocfeed.formats`` produce these; every field is the source's own text.
    ``type`` is ``None`` when the source did not say (it is then detected from the value).
    ``line`` is the 1-based line (or item) number used in error reports.
    """

    line: int
    value: str
    type: str | None = None
    confidence: str | None = None
    tags: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    description: str | None = None
    source: str | None = None
    tlp: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    valid_until: str | None = None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line or item that could not become an indicator, and why (for the import report)."""

    line: int
    reason: str
    text: str = ""
    whole_file: bool = False
    """The reader gave up on the file here: nothing after this line was read."""


@dataclass(frozen=True, slots=True)
class Notice:
    """What a reader says once about a whole file, such as the columns it ignores."""

    line: int
    message: str
