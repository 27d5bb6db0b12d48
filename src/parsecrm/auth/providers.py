"""The `authData` provider registry: who checks a provider's credentials before they sign anyone in.

A provider is a Cloud Code function registered with `@cloud.auth_provider("name")`; it receives an `AuthRequest`
and raises a ParseError to refuse (anything else it raises becomes code 141, as a hook's error). It may return a
dict to store instead of what the client sent (e.g. without a short-lived access token). The `anonymous` provider
is built in (PARSE_ENABLE_ANONYMOUS_USERS): like parse-server's, it accepts any data, its `id` being the identity.

Invariant: no `authData` reaches the database unless the provider of each non-null entry accepted it here; a
provider nobody registered is refused with 252, as parse-server answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import errors
from ..cloud.registry import call
from ..errors import ParseError
from ..security.caller import Caller

UNSUPPORTED = "This authentication method is unsupported."


@dataclass
class AuthRequest:
    """What a provider's validator receives."""

    provider: str
    auth_data: dict[str, Any]  # what the client sent for this provider
    caller: Caller
    user: dict[str, Any] | None  # {objectId, authData} of the user these credentials belong to (log-in, link)
    backend: Any = None
    trigger: str = "authProvider"  # so hook helpers that log a request's kind work on it too


async def _anonymous(req: AuthRequest) -> None:
    """parse-server's anonymous adapter checks nothing: the random id the client made up is the account."""
    return None


async def validate(
    backend: Any, caller: Caller, provider: str, data: dict[str, Any], user: dict[str, Any] | None
) -> dict[str, Any]:
    """The data to store for `provider` once its validator accepted `data` (raises otherwise)."""
    fn = backend.cloud.auth_providers.get(provider)
    if fn is None and provider == "anonymous" and backend.settings.enable_anonymous_users:
        fn = _anonymous
    if fn is None:
        raise ParseError(errors.UNSUPPORTED_SERVICE, UNSUPPORTED)
    result = await call(fn, AuthRequest(provider, dict(data), caller, user, backend))
    if result is None:
        return data
    if not isinstance(result, dict):
        raise ParseError(errors.SCRIPT_FAILED, f"auth provider {provider} must return a dict or None")
    return result
