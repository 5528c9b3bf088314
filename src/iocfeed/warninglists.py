"""Use case: the false-positive lists of this store: catalogue, matcher, policy changes, re-checks.

Every process builds its ``Matcher`` once (the MISP lists that are not off, read from the
package, plus the operator's lists) and reuses it for every ingest; ingest is handed the
``Screen`` it is built from, which worker processes build their own matcher from. Before
handing it out it compares the store's ``revision`` of the lists (one small query, at most every
``refresh_seconds``), so a policy set in another process is picked up within seconds.
Identical configurations share one matcher per process.

A policy change asks for a re-check: ``recheck_due`` walks every live indicator in row
order and publishes, for each one now on the changed list, a revoked version (block) or a
version tagged ``warninglist:<name>`` (flag). The worker (``iocfeed worker``) runs it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime

from iocfeed.clock import Clock
from iocfeed.errors import InvalidQuery, NotFound
from iocfeed.indicators.canonical import canonicalize
from iocfeed.indicators.merge import next_modified, revoke
from iocfeed.indicators.model import Indicator, IocType
from iocfeed.indicators.normalize import resolve_type
from iocfeed.lifecycle.misp_warninglists import misp_catalogue
from iocfeed.lifecycle.warninglist_defaults import default_policy
from iocfeed.lifecycle.warninglist_screen import EnabledList, Screen
from iocfeed.lifecycle.warninglists import (
    Matcher,
    Origin,
    Policy,
    Verdict,
    entries_from,
)
from iocfeed.store.audit import AuditLog
from iocfeed.store.indicators import IndicatorStore
from iocfeed.store.warninglists import StoredList, WarninglistStore

RECHECK_BATCH = 2000
_NOTHING = Screen()
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True, slots=True)
class ListInfo:
    """One list as the CLI and the API show it."""

    name: str
    origin: Origin
    policy: Policy
    default_policy: Policy
    title: str
    description: str
    entries: int


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A value checked against the lists."""

    type: IocType
    value: str
    verdict: Verdict

    @property
    def action(self) -> str:
        """What ingest would do: ``block``, ``flag`` or ``store``."""
        if self.verdict.blocked_by:
            return "block"
        return "flag" if self.verdict.flagged_by else "store"


def _check_name(name: str) -> str:
    cleaned = name.strip().lower()
    if not cleaned or len(cleaned) > 128 or not set(cleaned) <= _NAME_CHARS:
        raise InvalidQuery(
            f"list name {name!r}: use 1 to 128 lower-case letters, digits, '-', '_' or '.'",
            parameter="name",
        )
    return cleaned


def parse_policy(text: str, *, allow: bool = True) -> Policy:
    try:
        policy = Policy(text.strip().lower())
    except ValueError:
        policy = None
    if policy is None or (policy is Policy.ALLOW and not allow):
        choices = ", ".join(p.value for p in Policy if allow or p is not Policy.ALLOW)
        raise InvalidQuery(f"policy {text!r}: use one of {choices}", parameter="policy")
    return policy


class Warninglists:
    """The lists of one store (see the module docstring)."""

    def __init__(
        self,
        store: WarninglistStore,
        indicators: IndicatorStore,
        audit: AuditLog,
        clock: Clock,
        *,
        enabled: bool = True,
        refresh_seconds: float = 5.0,
    ) -> None:
        self.store = store
        self.indicators = indicators
        self.audit = audit
        self.clock = clock
        self.enabled = enabled
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._revision: tuple[int, int] | None = None
        self._checked_at = 0.0
        self._screen: Screen | None = None

    # --- reading ---------------------------------------------------------------------------

    def lists(self) -> list[ListInfo]:
        """Every list: the MISP lists by name, then the operator's."""
        rows = self.store.rows()
        shown: list[ListInfo] = []
        for name, described in misp_catalogue().items():
            row = rows.get(name)
            shown.append(
                ListInfo(
                    name,
                    Origin.MISP,
                    row.policy if row is not None else default_policy(name),
                    default_policy(name),
                    described.title,
                    described.description,
                    described.size,
                )
            )
        for row in sorted(rows.values(), key=lambda r: r.name):
            if row.origin is Origin.OPERATOR:
                shown.append(
                    ListInfo(
                        row.name,
                        Origin.OPERATOR,
                        row.policy,
                        Policy.OFF,
                        row.name,
                        row.description,
                        len(row.entries) if row.entries else 0,
                    )
                )
        return shown

    def get(self, name: str) -> ListInfo:
        cleaned = name.strip().lower()
        for info in self.lists():
            if info.name == cleaned:
                return info
        raise NotFound(f"no warninglist named {name!r}")

    def screen(self) -> Screen:
        """This process's screen of the lists as they are now (see the module docstring)."""
        with self._lock:
            if not self.enabled:
                return _NOTHING
            moment = time.monotonic()
            if self._screen is None or moment - self._checked_at >= self.refresh_seconds:
                revision = self.store.revision()
                self._checked_at = moment
                if self._screen is None or revision != self._revision:
                    self._screen = Screen(self._enabled(self.store.rows()))
                    self._revision = revision
            return self._screen

    def matcher(self) -> Matcher:
        """The matcher of ``screen()``, built once per process."""
        return self.screen().matcher()

    def refresh(self) -> Matcher:
        """The matcher, re-reading the store now (after a change made in this process)."""
        with self._lock:
            self._screen = None
        return self.matcher()

    def _enabled(self, rows: dict[str, StoredList]) -> tuple[EnabledList, ...]:
        enabled: list[EnabledList] = []
        for name in misp_catalogue():
            row = rows.get(name)
            policy = row.policy if row is not None else default_policy(name)
            if policy is not Policy.OFF:
                enabled.append((name, policy, None))
        for row in sorted(rows.values(), key=lambda r: r.name):
            if row.origin is Origin.OPERATOR and row.policy is not Policy.OFF and row.entries:
                enabled.append((row.name, row.policy, row.entries))
        return tuple(enabled)

    def check(self, text: str, type_name: str | None = None) -> CheckResult:
        """``text`` (any IOC, defanged or not) checked against the lists."""
        ioc_type = resolve_type(type_name, text)
        value = canonicalize(ioc_type, text)
        return CheckResult(ioc_type, value, self.matcher().check(ioc_type, value))

    def names_for(self, indicator: Indicator) -> list[str]:
        """The enabled lists the indicator's value is on."""
        return list(self.matcher().check(indicator.type, indicator.value).matched)

    # --- changing --------------------------------------------------------------------------

    def set_policy(self, name: str, policy: Policy, *, key_id: str | None) -> ListInfo:
        """Set a list's policy, audited; stored indicators are re-checked by the worker."""
        info = self.get(name)
        now = self.clock.now()
        self.store.set_policy(info.name, info.origin, policy, info.description, now)
        self.audit.record(
            key_id=key_id,
            action="warninglists.set",
            parameters={"name": info.name, "policy": policy.value, "was": info.policy.value},
            result_count=1,
            now=now,
        )
        self.refresh()
        return self.get(info.name)

    def save_operator_list(
        self,
        name: str,
        entries: list[str],
        policy: Policy,
        *,
        description: str = "",
        key_id: str | None,
    ) -> ListInfo:
        """Create or replace an operator list, audited; stored indicators are re-checked."""
        cleaned = _check_name(name)
        if cleaned in misp_catalogue():
            raise InvalidQuery(
                f"{cleaned!r} is a MISP list; operator lists need a name of their own",
                parameter="name",
            )
        parsed = entries_from(entries)
        now = self.clock.now()
        self.store.save_operator_list(cleaned, policy, description, parsed, now)
        self.audit.record(
            key_id=key_id,
            action="warninglists.save",
            parameters={"name": cleaned, "policy": policy.value, "entries": len(parsed)},
            result_count=len(parsed),
            now=now,
        )
        self.refresh()
        return self.get(cleaned)

    # --- the worker's sweep ----------------------------------------------------------------

    def recheck_due(self) -> int:
        """Re-check stored indicators for every list whose policy changed; new versions."""
        published = 0
        for name, asked in self.store.due_rechecks():
            published += self._recheck(name)
            self.store.recheck_done(name, asked)
        return published

    def _recheck(self, name: str) -> int:
        matcher = self.refresh()
        if not any(
            wl.name == name and wl.policy in (Policy.BLOCK, Policy.FLAG) for wl in matcher.lists
        ):
            return 0  # off or allow: nothing is revoked or tagged
        tag = matcher.tag(name)

        def change(indicator: Indicator, now: datetime) -> Indicator | None:
            verdict = matcher.check(indicator.type, indicator.value)
            if verdict.blocked_by == name:
                return revoke(indicator, now)
            if name in verdict.flagged_by and tag not in indicator.tags:
                return replace(
                    indicator,
                    tags=(*indicator.tags, tag),
                    modified=next_modified(indicator.modified, now),
                    date_added=now,
                )
            return None

        published = 0
        after = 0
        while batch := self.indicators.current_after(after, RECHECK_BATCH):
            after = batch[-1].seq
            due = [
                (i.type, i.value)
                for i in batch
                if (v := matcher.check(i.type, i.value)).blocked_by == name
                or (name in v.flagged_by and tag not in i.tags)
            ]
            if due:
                published += self.indicators.republish(due, self.clock.now(), change)
        if published:
            self.audit.record(
                key_id=None,
                action="warninglists.recheck",
                parameters={"name": name},
                result_count=published,
                now=self.clock.now(),
            )
        return published
