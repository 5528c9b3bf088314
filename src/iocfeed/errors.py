"""The one exception tree of iocfeed. None of it knows about HTTP.

    IocfeedError
    ├── InvalidIndicator      a value that is not a valid IOC of its type (reason for a person)
    ├── InvalidQuery          a filter, cursor or parameter that cannot be understood
    ├── LimitExceeded         a request over a configured cap (page size)
    │   └── BodyTooLarge      a request body over the configured size
    ├── InvalidInput          a value given to a use case (form field, command option) refused
    ├── NotFound              no such indicator, object, collection, status or key
    ├── Conflict              an operation that clashes with one in progress elsewhere
    ├── Unauthenticated       no key, an unknown key, an expired or a revoked key
    ├── Forbidden             a valid key whose plan lacks the scope
    │   ├── AccountSuspended  a key or person of a suspended account
    │   └── NetworkRefused    a key used from outside its allowed client networks
    ├── SignInRefused         a wrong e-mail, password or second factor, or a disabled user
    │   ├── SecondFactorNeeded  right password; the user's one-time (TOTP) code is needed
    │   └── SignInLocked      too many failed sign-ins: wait ``retry_after`` seconds
    ├── RateLimited           a key over its plan's request rate
    ├── NotAcceptable         no representation the client accepts (TAXII media types)
    ├── UnsupportedMediaType  a body in a media type the endpoint does not take
    ├── DependencyUnavailable the database or Redis cannot be reached or did not answer in time
    ├── SourceFailed          a source's feed could not be downloaded or read (run failed)
    └── ConfigurationError    settings that cannot start the service

The web layer maps each class to a status code in one table (``iocfeed.web.errors``).
"""

from __future__ import annotations


class IocfeedError(Exception):
    """Base of every error iocfeed raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidIndicator(IocfeedError):
    """A value rejected by its type's validator; ``message`` says why."""


class InvalidQuery(IocfeedError):
    """A query parameter, filter or paging cursor that cannot be understood."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class LimitExceeded(IocfeedError):
    """A request over a configured cap, e.g. ``limit`` above 1000 or a body too large."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class BodyTooLarge(LimitExceeded):
    """A request body larger than the configured maximum."""


class InvalidInput(IocfeedError):
    """A value given to a use case that it cannot take; ``parameter`` names the field."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class NotFound(IocfeedError):
    """The thing asked for does not exist (or is not visible to this key)."""


class Conflict(IocfeedError):
    """An operation that clashes with one in progress elsewhere (a source being run)."""


class Unauthenticated(IocfeedError):
    """No key, or a key that is unknown, expired or revoked."""


class Forbidden(IocfeedError):
    """A valid key (or person) without the right an operation needs."""

    def __init__(self, message: str, *, scope: str | None = None) -> None:
        super().__init__(message)
        self.scope = scope


class AccountSuspended(Forbidden):
    """The caller's account is suspended: its keys and people are refused until reactivated."""


class NetworkRefused(Forbidden):
    """A key used from a client address outside the networks it is allowed from."""


class SignInRefused(IocfeedError):
    """A sign-in that failed: the message never says which of e-mail or password was wrong."""


class SecondFactorNeeded(SignInRefused):
    """The password was right; the user has TOTP on and sent no code: ask for one."""


class SignInLocked(SignInRefused):
    """Too many failed sign-ins for this user or client address; retry after a while."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(IocfeedError):
    """A key over its plan's request rate."""

    def __init__(self, message: str, *, retry_after: int, limit: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit


class NotAcceptable(IocfeedError):
    """The client's Accept header admits none of the media types the endpoint produces."""


class UnsupportedMediaType(IocfeedError):
    """A request body whose Content-Type the endpoint does not accept."""


class DependencyUnavailable(IocfeedError):
    """A service iocfeed depends on cannot be reached or did not answer in time.

    Raised by the adapters at their edge (``store.engine``, ``auth.ratelimit``), so that no
    caller sees a driver's exception. ``dependency`` names it (``database``, ``redis``);
    ``retry_after`` is a hint in seconds for the client.
    """

    def __init__(self, message: str, *, dependency: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.retry_after = retry_after


class SourceFailed(IocfeedError):
    """A source run that failed: the feed could not be downloaded or read; ``message`` says
    why in words for the operator, and is kept in the run record."""


class ConfigurationError(IocfeedError):
    """Settings that are missing or contradictory."""
