"""Tables and indexes, shared by SQLite and PostgreSQL; the migrations create exactly these.

Times are stored as integer microseconds since the Unix epoch (UTC): exact, portable,
compact, and compared as numbers by both databases.

Each row of ``indicator_versions`` is one version of one indicator. The current version of
each ``(type, value)`` is the one whose ``superseded_at`` is NULL (a partial unique index
keeps it unique); ``superseded_at`` holds the ``date_added`` of the version that replaced
it, so "the latest version as of time T" is a plain range condition (see ``store.reads``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY (its rowid); PostgreSQL wants BIGINT.
RowId = BigInteger().with_variant(Integer(), "sqlite")

indicator_versions = Table(
    "indicator_versions",
    metadata,
    Column("seq", RowId, primary_key=True, autoincrement=True),
    Column("stix_id", String(80), nullable=False),
    Column("type", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("confidence", String(8), nullable=False),
    Column("tags", Text, nullable=False, comment="JSON array of strings"),
    Column("techniques", Text, nullable=False, comment="JSON array of ATT&CK ids"),
    Column("description", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("tlp", String(16), nullable=True, comment="operator-set TLP, NULL = from confidence"),
    Column("tlp_rank", SmallInteger, nullable=False, comment="rank of the effective TLP"),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=True),
    Column("revoked", Boolean, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("modified", BigInteger, nullable=False),
    Column("date_added", BigInteger, nullable=False),
    Column("superseded_at", BigInteger, nullable=True),
    Column(
        "access_rank",
        SmallInteger,
        nullable=False,
        comment="max(own TLP rank, current TLP rank of the indicator)",
    ),
    Column(
        "submitted",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="posted to the TAXII Submissions collection",
    ),
    Column(
        "flagged",
        Boolean,
        nullable=False,
        server_default=false(),
        comment=("tagged warninglist:<name> by a flag list; kept out of exports unless asked"),
    ),
    Column("score", SmallInteger, nullable=True, comment="exported STIX confidence; NULL = fixed"),
    Column(
        "penalty",
        SmallInteger,
        nullable=False,
        server_default="0",
        comment="points false-positive reports took off the base score",
    ),
    Column("decay_until", BigInteger, nullable=True, comment="when decay revokes it"),
    Column("decay_next", BigInteger, nullable=True, comment="when the decay sweep looks again"),
    Column(
        "stix_json",
        LargeBinary,
        nullable=True,
        comment="the version's SDO as JSON, without created_by_ref and object_marking_refs",
    ),
)

# Every column but the stored JSON, in table order: what decoding a row into its version reads.
DECODED_COLUMNS = tuple(
    column for column in indicator_versions.columns if column.name != "stix_json"
)

_CURRENT = indicator_versions.c.superseded_at.is_(None)
_SUBMITTED = indicator_versions.c.submitted.is_(True)

Index(
    "uq_indicator_versions_current",
    indicator_versions.c.type,
    indicator_versions.c.value,
    unique=True,
    sqlite_where=_CURRENT,
    postgresql_where=_CURRENT,
)
Index("ix_indicator_versions_date_added", indicator_versions.c.date_added, unique=True)
Index(
    "ix_indicator_versions_type_date_added",
    indicator_versions.c.type,
    indicator_versions.c.date_added,
)
# The Submissions collection's walk: only versions posted there, in date_added order.
Index(
    "ix_indicator_versions_submitted_date_added",
    indicator_versions.c.date_added,
    sqlite_where=_SUBMITTED,
    postgresql_where=_SUBMITTED,
)
# The decay sweep's queue: current versions by the time decay next needs to look at them.
Index(
    "ix_indicator_versions_decay_next",
    indicator_versions.c.decay_next,
    sqlite_where=_CURRENT,
    postgresql_where=_CURRENT,
)
Index(
    "ix_indicator_versions_stix_id",
    indicator_versions.c.stix_id,
    indicator_versions.c.date_added,
)
# One row: the last date_added handed out. Every write transaction locks it first, which
# serialises writers so that date_added order is commit order (no reader can see a later
# date_added before an earlier one commits) and date_added is strictly increasing.
write_clock = Table(
    "write_clock",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("last_date_added", BigInteger, nullable=False),
)

# An account (a subscribing organisation) owns the plan; its keys and people belong to it.
accounts = Table(
    "accounts",
    metadata,
    Column("account_id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("plan", String(64), nullable=False),
    Column("status", String(16), nullable=False, comment="active or suspended"),
    Column("created", BigInteger, nullable=False),
)
Index("uq_accounts_name", accounts.c.name, unique=True)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("secret_hash", String(64), nullable=False, comment="SHA-256 hex of the secret"),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=True),
    Column("revoked", BigInteger, nullable=True, comment="when it was revoked"),
    Column("scopes", Text, nullable=True, comment="JSON array narrowing the plan; NULL = all"),
    Column("max_tlp", String(16), nullable=True, comment="narrowed highest TLP; NULL = plan's"),
    Column("networks", Text, nullable=False, comment="JSON array of allowed CIDRs; [] = any"),
    Column(
        "device",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="may only read exports (and be sent as key=)",
    ),
    Column("last_used", BigInteger, nullable=True, comment="batched, a few seconds late"),
    Column("last_address", String(64), nullable=True, comment="client address of last use"),
)
Index("ix_api_keys_account_id", api_keys.c.account_id)

# People who sign in to the pages. ``email`` is stored lower-cased (unique regardless of
# case); ``password_hash`` is argon2id; ``totp_secret`` set = a second factor is required.
users = Table(
    "users",
    metadata,
    Column("user_id", RowId, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("role", String(16), nullable=False, comment="owner or member of the account"),
    Column("site_role", String(16), nullable=False, comment="admin, analyst or none"),
    Column("totp_secret", String(64), nullable=True),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created", BigInteger, nullable=False),
)
Index("uq_users_email", users.c.email, unique=True)
Index("ix_users_account_id", users.c.account_id)

# Signed-in sessions; only SHA-256 of the token (which lives in the cookie) is stored.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("client_address", String(64), nullable=True),
)
Index("ix_user_sessions_user_id", user_sessions.c.user_id)

# Failed sign-ins per subject ("user:<email>" or "address:<ip>"), for slowing and locking.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("subject", String(400), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure", BigInteger, nullable=False),
    Column("blocked_until", BigInteger, nullable=False, comment="no attempt before this time"),
)

# One-time password reset links an admin makes; only the hash of the token is stored.
password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=True),
)

# Usage per account, UTC day and surface (rest, export, taxii, …), added to in batches.
usage_daily = Table(
    "usage_daily",
    metadata,
    Column("account_id", BigInteger, primary_key=True),
    Column("day", Integer, primary_key=True, comment="UTC date as YYYYMMDD"),
    Column("surface", String(16), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("objects", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
)

# Each key's last TAXII poll of each collection, with the added_after it asked for.
taxii_polls = Table(
    "taxii_polls",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("collection_id", String(64), primary_key=True),
    Column("polled", BigInteger, nullable=False),
    Column("added_after", BigInteger, nullable=True),
)

rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("window_start", BigInteger, primary_key=True, comment="minute, epoch seconds"),
    Column("hits", Integer, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", RowId, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("key_id", String(32), nullable=True),
    Column("action", String(64), nullable=False),
    Column("parameters", Text, nullable=False, comment="JSON object"),
    Column("result_count", Integer, nullable=False),
    Column("account_id", BigInteger, nullable=True, comment="the account acted on or for"),
    Column("user_id", BigInteger, nullable=True, comment="the person who acted, if signed in"),
)
Index("ix_audit_log_at", audit_log.c.at)
Index("ix_audit_log_account_id_seq", audit_log.c.account_id, audit_log.c.seq)

taxii_statuses = Table(
    "taxii_statuses",
    metadata,
    Column("status_id", String(36), primary_key=True),
    Column("key_id", String(32), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("document", Text, nullable=False, comment="the TAXII status resource, JSON"),
)

# Secrets every worker shares (for example the key that signs paging tokens), made once.
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Per writer, its private view of each value it loaded while the value's indicator was above
# its TLP ceiling: withheld loads merge into it instead, so their answers are those a real
# store gives (``indicators.merge``). Never served; read only by withheld loads.
indicator_shadows = Table(
    "indicator_shadows",
    metadata,
    Column(
        "writer",
        String(64),
        primary_key=True,
        comment="who loaded: the API key id (the account, once keys belong to accounts)",
    ),
    Column("type", String(16), primary_key=True),
    Column("value", Text, primary_key=True),
    Column(
        "state",
        Text,
        nullable=False,
        comment="the indicator as the writer's withheld loads made it, JSON",
    ),
    Column("updated", BigInteger, nullable=False, comment="last withheld load"),
)

# Feeds pulled on a schedule (``iocfeed.sources``). ``credentials`` is sent to the feed and
# never shown; ``checkpoint`` is the source's own state (ETag, Last-Modified, …) as JSON.
sources = Table(
    "sources",
    metadata,
    Column("source_id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("credentials", Text, nullable=True, comment="JSON object; never returned"),
    Column("settings", Text, nullable=False, comment="JSON: defaults, type filter, columns"),
    Column("checkpoint", Text, nullable=False, comment="JSON object"),
    Column("created", BigInteger, nullable=False),
    Column("next_run", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=True),
)
Index("uq_sources_name", sources.c.name, unique=True)

source_runs = Table(
    "source_runs",
    metadata,
    Column("run_id", RowId, primary_key=True, autoincrement=True),
    Column("source_id", BigInteger, nullable=False),
    Column("started", BigInteger, nullable=False),
    Column("finished", BigInteger, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("added", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("revoked", Integer, nullable=False),
    Column("error", Text, nullable=True),
)
Index("ix_source_runs_source_id_run_id", source_runs.c.source_id, source_runs.c.run_id)

# Provenance: every source that reported an indicator, with that source's own sightings.
indicator_sources = Table(
    "indicator_sources",
    metadata,
    Column("source_id", BigInteger, primary_key=True),
    Column("type", String(16), primary_key=True),
    Column("value", Text, primary_key=True),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("last_run_id", BigInteger, nullable=False),
    Column(
        "missing_runs",
        Integer,
        nullable=False,
        comment="consecutive successful full-dump runs that did not list it",
    ),
)
Index("ix_indicator_sources_type_value", indicator_sources.c.type, indicator_sources.c.value)

# Cluster-wide periodic jobs (the expiry sweep): one row per job, claimed by one process
# per interval whatever the number of workers and hosts (``store.leases``).
sweep_leases = Table(
    "sweep_leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("due_at", BigInteger, nullable=False, comment="earliest next claim"),
    Column("holder", String(128), nullable=True, comment="who claimed it last"),
    Column("claimed_at", BigInteger, nullable=True),
)
# Webhooks (``store.webhooks``): each subscriber URL, its account, the events it wants, the
# salt its signing secret is derived from (``push.signatures``; the secret itself is not
# stored), where its event walk stands (``position``, a ``date_added``), and its health.
webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", RowId, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, nullable=False, comment="the account it belongs to"),
    Column("key_id", String(32), nullable=False, comment="the key that made it (its grant)"),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False, comment="JSON array of event kinds"),
    Column("secret_salt", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("failures", Integer, nullable=False, comment="failed attempts in a row"),
    Column("position", BigInteger, nullable=False, comment="date_added of the last event taken"),
    Column("next_attempt", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=True),
)
Index("ix_webhooks_account_id", webhooks.c.account_id)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", RowId, primary_key=True, autoincrement=True),
    Column("webhook_id", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, comment="pending, delivered, abandoned"),
    Column("events", Integer, nullable=False),
    Column("payload", Text, nullable=False, comment="the JSON body sent, the same each attempt"),
    Column("attempts", Integer, nullable=False),
    Column("last_attempt", BigInteger, nullable=True),
    Column("response_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered", BigInteger, nullable=True),
)
Index(
    "ix_webhook_deliveries_webhook_id_delivery_id",
    webhook_deliveries.c.webhook_id,
    webhook_deliveries.c.delivery_id,
)

# Pushers (``store.pushers``): schedules that upload events to a SIEM (Microsoft Sentinel),
# set by admins. ``credentials`` is sent to the SIEM's token endpoint and never shown;
# ``checkpoint`` holds the ``date_added`` of the last version uploaded.
pushers = Table(
    "pushers",
    metadata,
    Column("pusher_id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("settings", Text, nullable=False, comment="JSON: tenant, client id, workspace, …"),
    Column("credentials", Text, nullable=False, comment="JSON object; never returned"),
    Column("interval_seconds", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("checkpoint", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("next_run", BigInteger, nullable=False),
    Column("lease_until", BigInteger, nullable=True),
)
Index("uq_pushers_name", pushers.c.name, unique=True)

pusher_runs = Table(
    "pusher_runs",
    metadata,
    Column("run_id", RowId, primary_key=True, autoincrement=True),
    Column("pusher_id", BigInteger, nullable=False),
    Column("started", BigInteger, nullable=False),
    Column("finished", BigInteger, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("uploaded", Integer, nullable=False, comment="objects the SIEM accepted"),
    Column("rejected", Integer, nullable=False, comment="objects the SIEM refused"),
    Column("requests", Integer, nullable=False),
    Column("throttled", Integer, nullable=False, comment="answers 429"),
    Column("record_errors", Text, nullable=False, comment="JSON: the refused objects, why"),
    Column("error", Text, nullable=True),
)
Index("ix_pusher_runs_pusher_id_run_id", pusher_runs.c.pusher_id, pusher_runs.c.run_id)
# False-positive lists (``iocfeed.lifecycle.warninglists``): one row per list whose policy
# the operator set, and every operator list with its entries. A MISP list without a row has
# its default policy. ``recheck_due`` asks the worker to re-check stored indicators.
warninglists = Table(
    "warninglists",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("origin", String(16), nullable=False, comment="misp or operator"),
    Column("policy", String(8), nullable=False, comment="block, flag, allow or off"),
    Column("description", Text, nullable=False),
    Column(
        "entries",
        Text,
        nullable=True,
        comment="operator lists: JSON {values, domains, networks}; NULL for MISP lists",
    ),
    Column("updated", BigInteger, nullable=False),
    Column("recheck_due", BigInteger, nullable=True, comment="when a re-check was asked"),
)
# Sightings consumers report back (``POST /api/v1/sightings``): a hit becomes a STIX
# sighting, a false positive a STIX opinion; ``object_id`` is that object's id.
sightings = Table(
    "sightings",
    metadata,
    Column("seq", RowId, primary_key=True, autoincrement=True),
    Column("object_id", String(80), nullable=False),
    Column("stix_id", String(80), nullable=False),
    Column("type", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source", Text, nullable=False),
    Column("account_id", BigInteger, nullable=False, comment="the reporting account"),
    Column("key_id", String(32), nullable=True),
    Column("count", Integer, nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
)
Index("uq_sightings_object_id", sightings.c.object_id, unique=True)
Index(
    "ix_sightings_stix_id_kind_account_id",
    sightings.c.stix_id,
    sightings.c.kind,
    sightings.c.account_id,
)
