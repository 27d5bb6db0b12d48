"""Requests as the Parse SDKs send them: REST headers, or the JS SDK's `text/plain` POST envelope carrying
`_method`, `_ApplicationId`, `_SessionToken`, … in the JSON body. Also: keys (checked in constant time), the
master key's IP allow-list, and the CORS headers every response carries."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from .. import errors
from ..backend import Backend
from ..errors import ParseError, Unauthorized
from ..security.caller import Caller
from . import jsonlimits

ENVELOPE_KEYS = {
    "_ApplicationId",
    "_JavaScriptKey",
    "_ClientKey",
    "_RestAPIKey",
    "_MasterKey",
    "_SessionToken",
    "_InstallationId",
    "_ClientVersion",
    "_RevocableSession",
    "_method",
    "_context",
    "_ContentType",
    "_MaintenanceKey",
    "_InstallationID",
}

CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET,PUT,POST,DELETE,OPTIONS"),
    (
        b"access-control-allow-headers",
        b"X-Parse-Master-Key, X-Parse-REST-API-Key, X-Parse-Javascript-Key, X-Parse-Application-Id, "
        b"X-Parse-Client-Version, X-Parse-Session-Token, X-Requested-With, X-Parse-Revocable-Session, "
        b"X-Parse-Request-Id, X-Parse-Installation-Id, X-Parse-Client-Key, X-Parse-Cloud-Context, Content-Type, "
        b"Pragma, Cache-Control, Authorization, If-Match",
    ),
    (b"access-control-expose-headers", b"X-Parse-Job-Status-Id, X-Parse-Push-Status-Id"),
]


@dataclass
class Call:
    """One decoded API call (an HTTP request, or one sub-request of a batch)."""

    method: str
    path: str  # relative to the mount path, without leading/trailing slashes
    query: dict[str, Any]
    body: Any
    caller: Caller
    request_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """Query parameters: the query string merged with the body (the SDK sends GET params in the body)."""
        out = dict(self.query)
        if isinstance(self.body, dict):
            out.update(self.body)
        return out


def parse_query_string(
    raw: bytes, max_depth: int = jsonlimits.DEFAULT_MAX_DEPTH, max_bytes: int | None = None
) -> dict[str, Any]:
    """Query parameters; JSON-looking values (and `where`, `pipeline`, …) decoded, within the JSON limits."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise ParseError(errors.INVALID_JSON, f"The query string is larger than {max_bytes} bytes.", status=414)
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key in ("where", "pipeline", "match", "group", "project", "sort") or (value[:1] in "{[" and value):
            try:
                out[key] = jsonlimits.loads(value, max_depth, f"the {key[:40]} parameter")
                continue
            except orjson.JSONDecodeError as exc:
                if key == "where":
                    raise ParseError(errors.INVALID_JSON, "where parameter is not valid JSON") from exc
        out[key] = value
    return out


def decode_body(
    raw: bytes, content_type: str, has_app_header: bool, max_depth: int = jsonlimits.DEFAULT_MAX_DEPTH
) -> Any:
    if not raw.strip():
        return {}
    if content_type.startswith("multipart/"):
        raise ParseError(errors.INVALID_JSON, "multipart bodies are not supported")
    try:
        return jsonlimits.loads(raw, max_depth, "The request body")
    except orjson.JSONDecodeError as exc:
        if not has_app_header:
            raise Unauthorized() from exc
        raise ParseError(errors.INVALID_JSON, "Invalid JSON") from exc


def _eq(a: str, b: str) -> bool:
    return bool(b) and hmac.compare_digest(a.encode(), b.encode())


async def authenticate(
    backend: Backend, headers: dict[str, str], body: Any, ip: str | None, *, resolve_session: bool = True
) -> tuple[Caller, Any, dict[str, Any]]:
    """Check the app id and keys, resolve the session; return the caller, the body without the envelope keys,
    and the envelope (for `_method` and `_context`)."""
    s = backend.settings
    envelope: dict[str, Any] = {}
    if isinstance(body, dict) and any(k in ENVELOPE_KEYS for k in body):
        envelope = {k: body[k] for k in ENVELOPE_KEYS if k in body}
        body = {k: v for k, v in body.items() if k not in ENVELOPE_KEYS}
    app_id = headers.get("x-parse-application-id") or envelope.get("_ApplicationId")
    master = headers.get("x-parse-master-key")
    basic = headers.get("authorization", "")
    if not app_id and basic.lower().startswith("basic "):
        import base64

        try:
            app_id, _, master = base64.b64decode(basic[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            app_id = None
    if not isinstance(app_id, str) or not _eq(app_id, s.app_id):
        raise Unauthorized()
    body_master = envelope.get("_MasterKey")
    is_master = is_ro = False
    for candidate in (master, body_master):
        if isinstance(candidate, str) and candidate:
            if _eq(candidate, s.master_key):
                is_master = True
            elif s.read_only_master_key and _eq(candidate, s.read_only_master_key):
                is_ro = True
            elif candidate is master:
                raise Unauthorized()  # a wrong master key in a header is an error; in the body it is ignored
    if (is_master or is_ro) and not s.master_ip_allowed(ip):
        raise Unauthorized("unauthorized: master key is only accessible from configured IPs")
    if not (is_master or is_ro) and (s.javascript_key or s.rest_api_key):
        given = [
            headers.get("x-parse-javascript-key"),
            headers.get("x-parse-rest-api-key"),
            headers.get("x-parse-client-key"),
            envelope.get("_JavaScriptKey"),
            envelope.get("_ClientKey"),
            envelope.get("_RestAPIKey"),
        ]
        keys = [k for k in (s.javascript_key, s.rest_api_key) if k]
        if not any(isinstance(g, str) and any(_eq(g, k) for k in keys) for g in given):
            raise Unauthorized()
    if "_method" in envelope and not isinstance(envelope["_method"], str):
        raise ParseError(errors.INVALID_JSON, "_method must be a string")
    token = headers.get("x-parse-session-token") or envelope.get("_SessionToken")
    installation = headers.get("x-parse-installation-id") or envelope.get("_InstallationId")
    caller_kwargs: dict[str, Any] = {
        "master": is_master,
        "read_only": is_ro and not is_master,
        "ip": ip,
        "headers": headers,
        "installation_id": installation if isinstance(installation, str) else None,
    }
    bearer = basic[7:].strip() if basic[:7].lower() == "bearer " else ""
    if bearer and resolve_session and not (is_master or is_ro):
        if isinstance(token, str) and token:
            raise ParseError(errors.INVALID_SESSION_TOKEN, "Send a session token or an API token, not both.")
        grant = await backend.tokens.resolve(bearer)
        return grant.caller(**caller_kwargs), body, envelope
    if isinstance(token, str) and token and resolve_session:
        info = await backend.sessions.resolve(token)
        caller_kwargs.update(user_id=info.user_id, user=info.user, roles=info.roles, session_token=token)
    return Caller(**caller_kwargs), body, envelope


def cloud_context(
    headers: dict[str, str], envelope: dict[str, Any], max_depth: int = jsonlimits.DEFAULT_MAX_DEPTH
) -> dict[str, Any]:
    raw: Any = envelope.get("_context")
    if raw is None:
        raw = headers.get("x-parse-cloud-context")
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = jsonlimits.loads(raw, max_depth, "The context")
        except orjson.JSONDecodeError as exc:
            raise ParseError(errors.INVALID_JSON, "Context is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise ParseError(errors.INVALID_JSON, "Context is not an object")
    return raw
