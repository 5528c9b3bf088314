"""Settings, declared as data: environment variables ``IOCFEED_*`` over an optional TOML file.

Every setting has a description; ``tests/test_config.py`` checks each is documented in the
README. Plans are configuration (SPEC §4): the defaults below can be replaced in the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from iocfeed.errors import ConfigurationError
from iocfeed.indicators.model import IocType, Tlp


class Scope:
    """The scopes an endpoint may require (SPEC §4)."""

    READ_IOCS = "read:iocs"
    READ_STIX = "read:stix"
    READ_TAXII = "read:taxii"
    WRITE_IOCS = "write:iocs"
    ADMIN = "admin:keys"
    SOURCES = "admin:sources"
    WEBHOOKS = "write:webhooks"
    STREAM = "read:stream"
    WARNINGLISTS = "admin:warninglists"
    WRITE_SIGHTINGS = "write:sightings"

    ALL: tuple[str, ...] = (
        READ_IOCS,
        READ_STIX,
        READ_TAXII,
        WRITE_IOCS,
        ADMIN,
        SOURCES,
        WEBHOOKS,
        STREAM,
        WARNINGLISTS,
        WRITE_SIGHTINGS,
    )


class Plan(BaseModel, frozen=True):
    """What a key on this plan may read, how far back and how often."""

    title: str = Field(description="Name shown to people, e.g. in 403 messages.")
    scopes: frozenset[str]
    lookback_days: int | None = Field(
        ge=1, description='How far back reads may look, in days; "unlimited" or none = no limit.'
    )
    requests_per_minute: int | None = Field(
        ge=1, description='Rate limit; "unlimited" or none = no limit.'
    )
    max_tlp: Tlp = Field(description="Highest TLP of indicators served to the key.")
    max_list_entries: int | None = Field(
        default=None,
        ge=1,
        description="Most entries in one list download (txt, csv, rpz, hosts, suricata, "
        "misp), below each format's own cap; \"unlimited\" or none = the format's cap.",
    )

    @field_validator("lookback_days", "requests_per_minute", "max_list_entries", mode="before")
    @classmethod
    def _unlimited(cls, value: object) -> object:
        # TOML has no null: a config file says "unlimited".
        return None if isinstance(value, str) and value.strip().lower() == "unlimited" else value

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: frozenset[str]) -> frozenset[str]:
        unknown = scopes - set(Scope.ALL)
        if unknown:
            raise ValueError(f"unknown scopes {sorted(unknown)}; valid: {list(Scope.ALL)}")
        return scopes


_PRO_SCOPES = frozenset(
    {
        Scope.READ_IOCS,
        Scope.READ_STIX,
        Scope.READ_TAXII,
        Scope.WEBHOOKS,
        Scope.STREAM,
        Scope.WRITE_SIGHTINGS,
    }
)

DEFAULT_PLANS: dict[str, Plan] = {
    "free": Plan(
        title="Free",
        scopes=frozenset({Scope.READ_IOCS}),
        lookback_days=7,
        requests_per_minute=60,
        max_tlp=Tlp.GREEN,
        max_list_entries=10_000,
    ),
    "pro": Plan(
        title="Pro",
        scopes=_PRO_SCOPES,
        lookback_days=90,
        requests_per_minute=600,
        max_tlp=Tlp.AMBER,
        max_list_entries=100_000,
    ),
    "enterprise": Plan(
        title="Enterprise",
        scopes=_PRO_SCOPES | {Scope.WRITE_IOCS},
        lookback_days=365,
        requests_per_minute=3000,
        max_tlp=Tlp.AMBER_STRICT,
    ),
    "admin": Plan(
        title="Admin",
        scopes=frozenset(Scope.ALL),
        lookback_days=None,
        requests_per_minute=None,
        max_tlp=Tlp.RED,
    ),
}


class DecayRule(BaseModel, frozen=True):
    """How one IOC type's score falls with the time since it was last seen
    (``iocfeed.lifecycle.decay``: MISP's polynomial, as OpenCTI's decay rules use)."""

    lifetime_days: float = Field(gt=0, description="Days after last_seen when the score is 0.")
    speed: float = Field(
        default=1.0,
        gt=0,
        description="The curve's speed (MISP's decay_speed): 1 = linear, above 1 falls fast "
        "then slowly, below 1 slowly then fast.",
    )
    threshold: int = Field(
        default=10, ge=0, le=100, description="Below this score the indicator is revoked."
    )


# In the spirit of OpenCTI's published decay rules: addresses and URLs live for weeks,
# domains and mailboxes for months, file hashes for a year; CVEs and ATT&CK techniques
# (absent here) do not decay. Addresses fall fast at first (they are re-assigned), hashes
# stay high until late (a file's hash does not stop being that file).
DEFAULT_DECAY_RULES: dict[IocType, DecayRule] = {
    IocType.IPV4: DecayRule(lifetime_days=30, speed=2.0),
    IocType.IPV6: DecayRule(lifetime_days=30, speed=2.0),
    IocType.URL: DecayRule(lifetime_days=60, speed=1.0),
    IocType.DOMAIN: DecayRule(lifetime_days=180, speed=1.0),
    IocType.EMAIL: DecayRule(lifetime_days=180, speed=1.0),
    IocType.MD5: DecayRule(lifetime_days=365, speed=0.5),
    IocType.SHA1: DecayRule(lifetime_days=365, speed=0.5),
    IocType.SHA256: DecayRule(lifetime_days=365, speed=0.5),
    IocType.SHA512: DecayRule(lifetime_days=365, speed=0.5),
}

# The producer identity's id: a UUIDv4 chosen once and never regenerated (SPEC §2).
DEFAULT_IDENTITY_ID = "identity--6a8f9f3e-4c1b-4d63-9a57-2f3d9b0c7e21"


class Settings(BaseSettings):
    """Every setting of iocfeed. Environment variable: ``IOCFEED_`` + the upper-case name."""

    model_config = SettingsConfigDict(env_prefix="IOCFEED_", frozen=True, extra="forbid")

    database_url: str = Field(
        default="sqlite:///./iocfeed.db",
        description="SQLAlchemy URL of the store: sqlite:///path or postgresql://user@host/db.",
    )
    database_replica_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="PostgreSQL streaming replicas for reads (GET and HEAD requests), "
        "comma-separated URLs; empty = every read on the primary.",
    )
    database_replica_wait_seconds: float = Field(
        default=0.5,
        ge=0,
        description="How long a paging read waits for its replica to reach the snapshot of "
        "its next token before it reads the primary.",
    )
    database_replica_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a replica that failed is left out before it is tried again.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL for rate-limit state shared by workers; unset = the database.",
    )
    redis_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Redis connect and answer timeout; past it, limits use the database.",
    )
    database_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="PostgreSQL connect timeout (whole seconds, at least 2)."
    )
    database_statement_timeout_seconds: float = Field(
        default=30.0, ge=0, description="PostgreSQL statement timeout; 0 = none."
    )
    health_timeout_seconds: float = Field(
        default=3.0, gt=0, description="How long /healthz waits for each dependency."
    )
    failed_auth_per_minute: int = Field(
        default=60,
        ge=0,
        description="Requests with a missing or bad key allowed per client address and minute; "
        "0 = no limit.",
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="Longest a sign-in session lasts, in hours."
    )
    session_idle_minutes: float = Field(
        default=120.0, gt=0, description="A session unused this many minutes ends."
    )
    password_min_length: int = Field(
        default=12, ge=8, le=128, description="Shortest password a person may set."
    )
    password_hash_memory_kib: int = Field(
        default=65536,
        ge=8192,
        description="argon2id memory cost per password hash, in KiB (64 MiB: RFC 9106).",
    )
    password_hash_time_cost: int = Field(
        default=3, ge=1, description="argon2id passes per password hash (RFC 9106: 3)."
    )
    reset_link_hours: float = Field(
        default=24.0, gt=0, description="How long a one-time password reset link works."
    )
    sign_in_free_failures: int = Field(
        default=3,
        ge=0,
        description="Failed sign-ins per user before each further attempt is delayed.",
    )
    sign_in_first_delay_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Wait after the first delayed failure; doubles with each failure.",
    )
    sign_in_lock_failures: int = Field(
        default=10, ge=1, description="Failed sign-ins per user that lock it."
    )
    sign_in_address_free_failures: int = Field(
        default=10,
        ge=0,
        description="Failed sign-ins per client address before its attempts are delayed.",
    )
    sign_in_address_lock_failures: int = Field(
        default=50, ge=1, description="Failed sign-ins per client address that lock it."
    )
    sign_in_lock_seconds: float = Field(
        default=900.0, gt=0, description="How long a locked user or address waits, in seconds."
    )
    sign_in_window_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Failures older than this (since the last one) are forgotten, in seconds.",
    )
    usage_metering: bool = Field(
        default=True,
        description="Count requests, objects and bytes per account, day and surface, and "
        "record each key's last use and TAXII polls.",
    )
    usage_flush_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often each process writes its usage counts (to Redis if set, "
        "else the database), in seconds.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Server secret that signs paging tokens (16+ characters, the same on every "
        "host); unset = one made once and kept in the database.",
    )
    identity_id: str = Field(
        default=DEFAULT_IDENTITY_ID,
        description="STIX id of the producer identity (identity--<uuid4>); never change it.",
    )
    identity_name: str = Field(default="SOC Defenders", description="Producer identity name.")
    identity_class: str = Field(default="organization", description="Producer identity class.")
    plans: dict[str, Plan] = Field(
        default_factory=lambda: dict(DEFAULT_PLANS),
        description="Plans by name (config file only); see the README for the defaults.",
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="Largest request body accepted, in bytes."
    )
    max_page_size: int = Field(
        default=1000, gt=0, le=10000, description="Largest page (REST, TAXII, export limit)."
    )
    bulk_slots: int = Field(
        default=2,
        ge=0,
        description="Bulk requests (TAXII object and manifest pages, exports, REST searches, "
        "imports) each server process builds at once; more wait their turn, so that lookups "
        "and other small requests never queue behind them. 0 = no limit.",
    )
    expiry_sweep_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How often the worker revokes indicators past valid_until; 0 = never.",
    )
    decay_rules: dict[IocType, DecayRule] = Field(
        default_factory=lambda: dict(DEFAULT_DECAY_RULES),
        description="Decay model per IOC type (config file only); a type left out does not "
        "decay. See the README for the defaults.",
    )
    decay_step: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Publish a new version when decay moves the exported confidence by this "
        "many points.",
    )
    decay_slack_hours: float = Field(
        default=24.0,
        gt=0,
        description="... or when a re-sighting moves the predicted revocation (valid_until) "
        "by this many hours.",
    )
    decay_sweep_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How often the worker applies decay (publishes lower scores, revokes); "
        "0 = never.",
    )
    decay_sweep_batch: int = Field(
        default=1000, ge=1, le=10000, description="Indicators the decay sweep handles per batch."
    )
    decay_sweep_max_batches: int = Field(
        default=100,
        ge=1,
        description="Batches per decay sweep at most; the rest waits for the next sweep.",
    )
    false_positive_penalty: int = Field(
        default=25,
        ge=0,
        le=100,
        description="Points each account reporting a false positive takes off the base score.",
    )
    false_positive_accounts: int = Field(
        default=3,
        ge=1,
        description="False-positive reports from this many distinct accounts revoke the indicator.",
    )
    sightings_named_accounts: list[str] = Field(
        default_factory=list,
        description="Accounts that chose to be named in exported sightings; every other "
        "account's sightings are anonymous.",
    )
    sweep_in_server: bool = Field(
        default=False,
        description="The server runs the expiry sweep too (a deployment with no worker).",
    )
    source_max_bytes: int = Field(
        default=512 * 1024 * 1024,
        gt=0,
        description="Largest feed a source may download (and unpack from a zip), in bytes.",
    )
    source_timeout_seconds: float = Field(
        default=300.0, gt=0, description="Longest a source's download may take, in seconds."
    )
    source_retries: int = Field(
        default=3, ge=0, description="Retries of a download after a connect error or a 5xx."
    )
    source_backoff_seconds: float = Field(
        default=2.0, ge=0, description="First wait before a retry; doubled at each retry."
    )
    source_missing_runs: int = Field(
        default=2,
        ge=1,
        description="Successful runs a full-dump source must not list an indicator before "
        "it is revoked (unless another source still lists it).",
    )
    taxii_collection_per_source: bool = Field(
        default=False,
        description="Add one read-only TAXII collection per enabled source, serving the "
        "indicators that source reported.",
    )
    rpz_zone: str = Field(
        default="rpz.iocfeed.local",
        description="Default name of the RPZ zone of GET /api/v1/export/rpz (zone= overrides).",
    )
    rpz_refresh_seconds: int = Field(
        default=3600,
        ge=60,
        description="SOA refresh of the RPZ zone: how often resolvers fetch it again.",
    )
    suricata_sid_start: int = Field(
        default=1_000_000,
        ge=1,
        le=4_000_000_000,
        description="First sid of the Suricata rules export (1,000,000-1,999,999 is the "
        "block for local rules).",
    )
    suricata_sid_end: int = Field(
        default=1_999_999,
        ge=1,
        le=4_294_967_295,
        description="Last sid of the Suricata rules export; indicators past it are left out.",
    )
    access_log: bool = Field(
        default=True, description="Write one JSON access-log line per request."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL the server advertises (e.g. https://intel.example.org/feeds); "
        "unset = from trusted proxy headers, else the request.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Peer addresses or CIDRs whose Forwarded/X-Forwarded-* headers are "
        'believed ("*" = any); [] = none.',
    )

    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDRs) webhook URLs may reach although private, loopback or "
        "link-local; [] = public addresses only.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest a webhook delivery may take, in seconds."
    )
    webhook_batch_size: int = Field(
        default=100, ge=1, le=1000, description="Most events in one webhook delivery."
    )
    webhook_backoff_seconds: float = Field(
        default=30.0,
        gt=0,
        description="First wait before retrying a failed delivery; doubled at each retry, "
        "with jitter.",
    )
    webhook_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest wait between retries of a delivery."
    )
    webhook_disable_after: int = Field(
        default=10,
        ge=1,
        description="Failed delivery attempts in a row after which a webhook is disabled.",
    )
    webhook_log_days: int = Field(
        default=30,
        ge=1,
        description="Days a delivered webhook delivery stays in the delivery log.",
    )
    webhooks_per_account: int = Field(
        default=10, ge=1, description="Most webhooks one account may have."
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Idle time after which the event stream sends a comment."
    )
    stream_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often an event stream looks for new events."
    )
    stream_max_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Longest one event-stream connection lasts; the client resumes with "
        "Last-Event-ID.",
    )
    sentinel_login_url: str = Field(
        default="https://login.microsoftonline.com",
        description="Microsoft Entra ID base URL for the Sentinel pusher's OAuth2 token.",
    )
    sentinel_api_url: str = Field(
        default="https://api.ti.sentinel.azure.com",
        description="Base URL of Sentinel's STIX objects upload API.",
    )
    sentinel_requests_per_window: int = Field(
        default=100, ge=1, description="Upload requests the Sentinel pusher sends per window."
    )
    sentinel_window_seconds: float = Field(
        default=60.0, gt=0, description="The window of sentinel_requests_per_window, in seconds."
    )
    sentinel_max_requests_per_run: int = Field(
        default=1000,
        ge=1,
        description="Upload requests in one pusher run (100 objects each); the next run "
        "goes on from the checkpoint.",
    )

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _allowed_networks(cls, value: list[str]) -> list[str]:
        from iocfeed.push.addresses import parse_networks

        parse_networks(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        from iocfeed.forwarding import public_parts

        if value:
            public_parts(value)
        return value or None

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        from iocfeed.forwarding import trusted_networks

        trusted_networks(value)
        return value

    @field_validator("identity_id")
    @classmethod
    def _identity_is_uuid4(cls, value: str) -> str:
        import uuid

        prefix, _, raw = value.partition("--")
        try:
            version = uuid.UUID(raw).version
        except ValueError:
            version = None
        if prefix != "identity" or version != 4:
            raise ValueError("must be identity--<UUIDv4>")
        return value


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the TOML file (if any), then ``IOCFEED_*`` variables, then ``overrides``.

    Raises ConfigurationError with every problem listed, so the service fails at start.
    """
    from_file: dict[str, Any] = {}
    if config_file is not None:
        try:
            from_file = tomllib.loads(config_file.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"cannot read config file {config_file}: {exc}") from exc
    try:
        # Environment variables override the file; explicit overrides override both.
        env_only = Settings()
        explicit_env = env_only.model_fields_set
        merged = {**from_file, **{k: getattr(env_only, k) for k in explicit_env}, **overrides}
        return Settings(**merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from exc
