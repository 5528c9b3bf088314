"""Demo indicators: a reproducible stream of realistic, valid, distinct IOCs of every type.

Theory of operation. One ``random.Random(seed)`` drives everything, so a seed always gives
the same indicators (dates relative to ``now``). Values are never checked against the ones
already made: each type keeps a counter, and the counter is mixed into the value by a
bijection (a multiplicative permutation, or a mixed-radix split over word lists), so two
indicators of one type cannot share a value however many are generated. Only reserved
names and documentation or benchmark address ranges are used (RFC 2606, 6761, 5737, 2544,
3849), so a demo database can never block a real host. The finite pools (IPv4 addresses in
those ranges, ATT&CK techniques) are used up in a shuffled order, then their share of the
mix falls to SHA-256 hashes.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from ipaddress import IPv6Address, IPv6Network
from random import Random

from iocfeed.indicators.attack import catalogue
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, Tlp

# A feed's usual mix: hashes, domains, URLs and addresses dominate; CVEs and techniques rare.
TYPE_WEIGHTS: dict[IocType, int] = {
    IocType.SHA256: 22,
    IocType.DOMAIN: 18,
    IocType.URL: 16,
    IocType.IPV4: 12,
    IocType.MD5: 8,
    IocType.SHA1: 7,
    IocType.EMAIL: 5,
    IocType.IPV6: 4,
    IocType.SHA512: 3,
    IocType.CVE: 3,
    IocType.MITRE_ATTACK: 2,
}

# fmt: off
FAMILIES: tuple[str, ...] = (
    "emotet", "qakbot", "asyncrat", "xworm", "gandcrab", "cobalt-strike", "lockbit", "redline",
    "agent-tesla", "icedid", "formbook", "remcos", "njrat", "lumma", "trickbot", "bumblebee",
    "pikabot", "darkgate", "sliver", "gamaredon",
)

THEMES: tuple[str, ...] = (
    "phishing", "c2", "botnet", "ransomware", "loader", "infostealer", "initial-access",
    "exfiltration", "invoice-lure", "malvertising", "finance", "healthcare", "energy",
    "government", "education", "retail", "manufacturing", "logistics",
)

SOURCES: tuple[str, ...] = (
    "honeypot-eu", "honeypot-us", "partner-isac", "osint", "sandbox", "internal-soc",
    "edr-telemetry", "abuse-reports", "vendor-feed",
)

# Techniques common in the families above; ids not in the offline catalogue are left out.
COMMON_TECHNIQUES: tuple[str, ...] = (
    "T1566.001", "T1566.002", "T1204.002", "T1059.001", "T1059.003", "T1071.001", "T1105", "T1486",
    "T1027", "T1055", "T1547.001", "T1053.005", "T1003.001", "T1021.001", "T1190", "T1133",
    "T1078", "T1090", "T1573.002", "T1041", "T1567.002", "T1112", "T1497.001", "T1218.011",
    "T1562.001", "T1490",
)
# fmt: on

DESCRIPTIONS: dict[IocType, tuple[str, ...]] = {
    IocType.IPV4: (
        "Command-and-control server for {family}.",
        "Host serving {family} payloads over HTTPS.",
        "Scanner probing exposed VPN gateways, later seen in {family} intrusions.",
    ),
    IocType.IPV6: (
        "Command-and-control server for {family} reached over IPv6.",
        "Address that staged {family} payloads.",
    ),
    IocType.DOMAIN: (
        "Command-and-control domain used by {family}.",
        "Phishing domain imitating a webmail login page.",
        "Domain that stages second-stage {family} payloads.",
    ),
    IocType.URL: (
        "Download URL for a {family} payload.",
        "Credential-phishing page linked from invoice-themed e-mails.",
        "Gate that {family} bots poll for tasks.",
    ),
    IocType.MD5: (
        "Sample of {family} seen in sandbox detonations.",
        "Malicious Office document that drops {family}.",
    ),
    IocType.SHA1: (
        "Loader for {family} delivered in a password-protected archive.",
        "Script that downloads {family}.",
    ),
    IocType.SHA256: (
        "Payload of {family} dropped by a malicious Office document.",
        "Sample of {family} seen in sandbox detonations.",
        "Shortcut file that starts the {family} infection chain.",
    ),
    IocType.SHA512: ("Sample of {family} shared by a partner.",),
    IocType.EMAIL: (
        "Sender of {family} phishing e-mails.",
        "Reply-to address in invoice fraud e-mails.",
    ),
    IocType.CVE: ("Vulnerability exploited for initial access by {family} operators.",),
    IocType.MITRE_ATTACK: ("Technique observed in {family} intrusions.",),
}

# Reserved names (RFC 2606 and RFC 6761) under which demo hosts live.
DOMAIN_SUFFIXES: tuple[str, ...] = (
    "example",
    "test",
    "invalid",
    "example.com",
    "example.net",
    "example.org",
)
MAIL_DOMAINS: tuple[str, ...] = (
    "mail.example",
    "example.com",
    "example.net",
    "example.org",
    "corp.example",
    "billing.test",
    "invoices.example.com",
    "hr-portal.example.org",
)
# fmt: off
_PREFIXES: tuple[str, ...] = (
    "secure", "update", "login", "account", "verify", "cdn", "mail", "portal", "auth", "cloud",
    "files", "docs", "support", "billing", "pay", "my", "online", "service", "sync", "static",
    "api", "download", "web", "client", "office", "share", "drive", "wallet", "help", "track",
    "notice", "alert", "check", "confirm", "sign", "admin", "remote", "vpn", "host", "stage",
)
_NOUNS: tuple[str, ...] = (
    "invoice", "payment", "delivery", "parcel", "office", "bank", "tax", "refund", "shipping",
    "order", "document", "storage", "center", "access", "gateway", "cloud", "panel", "desk", "hq",
    "inbox", "hub", "zone", "net", "app", "files", "media", "news", "report", "market", "store",
    "team", "point", "link", "box", "data", "node", "edge", "relay",
)
_FIRST_NAMES: tuple[str, ...] = (
    "anna", "ben", "carla", "david", "eva", "frank", "grace", "henry", "irene", "jack", "karen",
    "leo", "maria", "nina", "oscar", "paula", "quinn", "rosa", "sam", "tina", "ugo", "vera",
    "will", "xena", "yusuf", "zoe", "accounts", "billing", "hr", "noreply",
)
_LAST_NAMES: tuple[str, ...] = (
    "smith", "jones", "miller", "brown", "davis", "garcia", "wilson", "moore", "taylor", "thomas",
    "white", "harris", "martin", "clark", "lewis", "walker", "young", "allen", "king", "wright",
    "scott", "green", "baker", "adams", "nelson", "hill", "campbell", "mitchell", "roberts",
    "carter",
)
# fmt: on
_URL_PATHS: tuple[str, ...] = (
    "/{word}/{token}.php",
    "/download/{token}.zip",
    "/gate.php?id={token}",
    "/{token}/payload.bin",
    "/wp-content/uploads/{token}.js",
    "/api/v2/{token}",
    "/invoice/{token}.html",
)
_CVE_YEARS: tuple[int, ...] = tuple(range(2014, 2026))

# Address ranges for documentation (RFC 5737) and benchmarking (RFC 2544).
_DOC_NETWORKS: tuple[str, ...] = ("192.0.2", "198.51.100", "203.0.113")
_BENCH_FIRST_OCTETS = (198, 18)  # 198.18.0.0/15: 512 blocks of /24
_BENCH_BLOCKS = 512
_HOSTS_PER_BLOCK = 254  # .1 … .254: no network or broadcast address
_CIDR_EVERY = 20  # one IPv4 indicator in twenty is a network
_IPV6_CIDR_EVERY = 15
_IPV6_BASE = int(IPv6Address("2001:db8::"))

# A multiplier coprime to every pool size used here, so ``i * _STRIDE % n`` permutes 0…n-1.
_STRIDE = 7919
_GOLDEN = 0x9E3779B1
_MASK32 = 0xFFFFFFFF
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_DAY = 86_400

_TLP_OVERRIDES: tuple[Tlp, ...] = (
    Tlp.GREEN,
    Tlp.GREEN,
    Tlp.AMBER,
    Tlp.AMBER,
    Tlp.CLEAR,
    Tlp.AMBER_STRICT,
    Tlp.RED,
)


def generate(count: int, *, seed: int = 42, now: datetime) -> Iterator[IndicatorInput]:
    """``count`` distinct, valid demo indicators; the same ones for the same seed and ``now``.

    With ``count`` ≥ 11 every IOC type appears; dates fall in the ~400 days before ``now``.
    """
    rng = Random(seed)
    values = _Values(rng)
    first_types = list(IocType)
    rng.shuffle(first_types)  # the first eleven cover every type once
    kinds = tuple(TYPE_WEIGHTS)
    bounds = tuple(itertools.accumulate(TYPE_WEIGHTS.values()))
    total = bounds[-1]
    random = rng.random
    for number in range(count):
        if number < len(first_types):
            ioc_type = first_types[number]
        else:  # one draw per indicator, so a short run is the start of a longer one
            ioc_type = kinds[bisect.bisect(bounds, random() * total)]
        yield _indicator(rng, values, ioc_type, now)


def _indicator(rng: Random, values: _Values, ioc_type: IocType, now: datetime) -> IndicatorInput:
    random = rng.random
    value = values.make(ioc_type)
    if value is None:  # a finite pool is used up
        ioc_type, value = IocType.SHA256, values.make_hash(IocType.SHA256)
    family = FAMILIES[int(random() * len(FAMILIES))]
    tags: tuple[str, ...] = (family,)
    roll = random()
    if roll < 0.6:
        tags = (family, THEMES[int(random() * len(THEMES))])
    if roll < 0.15:
        tags = (*tags, THEMES[int(random() * len(THEMES))])
        if tags[1] == tags[2]:
            tags = tags[:2]
    techniques: tuple[str, ...] = ()
    if ioc_type not in (IocType.MITRE_ATTACK, IocType.CVE) and random() < 0.4:
        techniques = values.techniques()
    templates = DESCRIPTIONS[ioc_type]
    description = templates[int(random() * len(templates))].format(family=family)
    age = _DAY + int(random() * 399 * _DAY)
    first_seen = now - timedelta(seconds=age)
    last_seen = first_seen + timedelta(seconds=int(random() * min(age, 120 * _DAY)))
    roll = random()
    valid_until = None
    if roll < 0.25:
        valid_until = now + timedelta(seconds=_DAY + int(random() * 365 * _DAY))
    elif roll < 0.3:  # expired: between the last sighting and now
        window = int((now - last_seen).total_seconds())
        valid_until = last_seen + timedelta(seconds=1 + int(random() * max(window - 1, 0)))
    roll = random()
    confidence = (
        Confidence.HIGH if roll < 0.3 else Confidence.MEDIUM if roll < 0.75 else Confidence.LOW
    )
    tlp = None
    if random() < 0.1:
        tlp = _TLP_OVERRIDES[int(random() * len(_TLP_OVERRIDES))]
    return IndicatorInput(
        type=ioc_type,
        value=value,
        confidence=confidence,
        tags=tags,
        techniques=techniques,
        description=description,
        source=SOURCES[int(random() * len(SOURCES))],
        tlp=tlp,
        first_seen=first_seen,
        last_seen=last_seen,
        valid_until=valid_until,
    )


class _Values:
    """Distinct canonical values per type, from per-type counters mixed with randomness."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._counts: dict[IocType, int] = dict.fromkeys(IocType, 0)
        known = catalogue()
        self._attack_pool = sorted(known)
        rng.shuffle(self._attack_pool)
        self._common = tuple(t for t in COMMON_TECHNIQUES if t in known) or tuple(known)[:10]
        # XOR with a per-type salt keeps the counter bijection but hides its first values.
        self._salts: dict[IocType, int] = {kind: rng.getrandbits(32) for kind in IocType}
        self._ipv4_hosts = 0
        self._ipv4_networks = 0
        self._makers: dict[IocType, Callable[[int], str | None]] = {
            IocType.IPV4: self._ipv4,
            IocType.IPV6: self._ipv6,
            IocType.DOMAIN: self._domain,
            IocType.URL: self._url,
            IocType.EMAIL: self._email,
            IocType.CVE: self._cve,
            IocType.MITRE_ATTACK: self._attack,
        }

    def make(self, ioc_type: IocType) -> str | None:
        maker = self._makers.get(ioc_type)
        if maker is None:
            return self.make_hash(ioc_type)
        number = self._counts[ioc_type]
        self._counts[ioc_type] = number + 1
        return maker(number)

    def make_hash(self, ioc_type: IocType) -> str:
        number = self._counts[ioc_type]
        self._counts[ioc_type] = number + 1
        hex_digits = _HASH_HEX[ioc_type]
        # Random high digits, then eight digits that are a bijection of the counter.
        return f"{self._rng.getrandbits((hex_digits - 8) * 4):0{hex_digits - 8}x}" + (
            f"{_scramble(number) ^ self._salts[ioc_type]:08x}"
        )

    def techniques(self) -> tuple[str, ...]:
        common, random = self._common, self._rng.random
        first = common[int(random() * len(common))]
        if random() < 0.7:
            return (first,)
        second = common[int(random() * len(common))]
        return (first,) if second == first else tuple(sorted((first, second)))

    def _ipv4(self, number: int) -> str | None:
        # Mostly single hosts, one in twenty a network; each kind falls back on the other.
        if number % _CIDR_EVERY == _CIDR_EVERY - 1:
            return self._ipv4_network() or self._ipv4_host()
        return self._ipv4_host() or self._ipv4_network()

    def _ipv4_host(self) -> str | None:
        index = self._ipv4_hosts
        doc_hosts = len(_DOC_NETWORKS) * _HOSTS_PER_BLOCK
        bench_hosts = _BENCH_BLOCKS * _HOSTS_PER_BLOCK
        if index >= doc_hosts + bench_hosts:
            return None
        self._ipv4_hosts = index + 1
        if index < doc_hosts:  # the documentation ranges first: small demos show them
            spot = (index * _STRIDE + 101) % doc_hosts
            block, host = divmod(spot, _HOSTS_PER_BLOCK)
            return f"{_DOC_NETWORKS[block]}.{host + 1}"
        spot = ((index - doc_hosts) * _STRIDE + 101) % bench_hosts
        block, host = divmod(spot, _HOSTS_PER_BLOCK)
        second = _BENCH_FIRST_OCTETS[1] + block // 256
        return f"{_BENCH_FIRST_OCTETS[0]}.{second}.{block % 256}.{host + 1}"

    def _ipv4_network(self) -> str | None:
        index = self._ipv4_networks
        self._ipv4_networks = index + 1
        if index < len(_DOC_NETWORKS):
            return f"{_DOC_NETWORKS[index]}.0/24"
        index -= len(_DOC_NETWORKS)
        for prefix in range(24, 31):  # /24 … /30 networks inside 198.18.0.0/15
            networks = 1 << (prefix - 15)
            if index < networks:
                offset = ((index * _STRIDE) % networks) << (32 - prefix)
                base = (_BENCH_FIRST_OCTETS[0] << 24) | (_BENCH_FIRST_OCTETS[1] << 16)
                address = base + offset
                return (
                    f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}."
                    f"{address & 255}/{prefix}"
                )
            index -= networks
        return None

    def _ipv6(self, number: int) -> str:
        subnet = _IPV6_BASE | ((_scramble(number) ^ self._salts[IocType.IPV6]) << 64)
        if number % _IPV6_CIDR_EVERY == _IPV6_CIDR_EVERY - 1:
            return IPv6Network((subnet, 64)).compressed
        interface = 1 + self._rng.getrandbits(16 if self._rng.random() < 0.5 else 63)
        return IPv6Address(subnet | interface).compressed

    def _domain(self, number: int) -> str:
        return _mixed_name(
            number,
            firsts=_PREFIXES,
            seconds=_NOUNS,
            suffixes=DOMAIN_SUFFIXES,
            joiner="-",
            separator=".",
        )

    def _email(self, number: int) -> str:
        return _mixed_name(
            number,
            firsts=_FIRST_NAMES,
            seconds=_LAST_NAMES,
            suffixes=MAIL_DOMAINS,
            joiner=".",
            separator="@",
        )

    def _url(self, number: int) -> str:
        rng = self._rng
        random = rng.random
        if random() < 0.15:
            network = _DOC_NETWORKS[int(random() * len(_DOC_NETWORKS))]
            host = f"{network}.{1 + int(random() * 254)}:{(8080, 8443, 443, 8000)[number % 4]}"
        else:
            prefix = _PREFIXES[int(random() * len(_PREFIXES))]
            noun = _NOUNS[int(random() * len(_NOUNS))]
            host = f"{prefix}-{noun}.{DOMAIN_SUFFIXES[int(random() * len(DOMAIN_SUFFIXES))]}"
        scheme = "https" if random() < 0.7 else "http"
        path = _URL_PATHS[int(random() * len(_URL_PATHS))].format(
            word=_NOUNS[int(random() * len(_NOUNS))],
            token=_base36(_scramble(number) ^ self._salts[IocType.URL]),
        )
        return f"{scheme}://{host}{path}"

    def _cve(self, number: int) -> str:
        sequence, year_slot = divmod(number, len(_CVE_YEARS))
        year = _CVE_YEARS[year_slot]
        block, spot = divmod(sequence, 90_000)
        # Five-digit ids, shuffled; past 90,000 per year they grow a sixth digit.
        return f"CVE-{year}-{10_000 + (spot * _STRIDE + 1234) % 90_000 + block * 90_000}"

    def _attack(self, number: int) -> str | None:
        pool = self._attack_pool
        return pool[number] if number < len(pool) else None


_HASH_HEX: dict[IocType, int] = {
    IocType.MD5: 32,
    IocType.SHA1: 40,
    IocType.SHA256: 64,
    IocType.SHA512: 128,
}


def _scramble(number: int) -> int:
    """A bijection on 32-bit numbers that makes consecutive counters look unrelated."""
    return ((number * _GOLDEN) & _MASK32) ^ 0x5BD1E995


def _base36(number: int) -> str:
    """Seven base-36 digits (enough for any 32-bit number), so tokens have one width."""
    digits = []
    for _ in range(7):
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))


def _mixed_name(
    number: int,
    *,
    firsts: tuple[str, ...],
    seconds: tuple[str, ...],
    suffixes: tuple[str, ...],
    joiner: str,
    separator: str,
) -> str:
    """``first-second[n].suffix``: counter → (first, second, suffix, n) is one-to-one.

    The words contain no digits, so the trailing ``n`` (left out in the first round)
    can never be confused with part of a word.
    """
    size = len(firsts) * len(seconds) * len(suffixes)
    round_, spot = divmod(number, size)
    spot = (spot * _STRIDE + 17) % size
    spot, first = divmod(spot, len(firsts))
    suffix, second = divmod(spot, len(seconds))
    counter = str(round_) if round_ else ""
    return f"{firsts[first]}{joiner}{seconds[second]}{counter}{separator}{suffixes[suffix]}"
