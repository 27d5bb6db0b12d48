"""Cloud Code in Python — the public hook API. A deployment module exposes `cloud = Cloud()` (loaded with
PARSE_CLOUD=module_or_path.py); the CRM's own rules (crm/rules.py) register the same way.

    from parsecrm.cloud import Cloud, ErrorCode, ParseError, SaveRequest

    cloud = Cloud()

    @cloud.before_save("Deal")
    async def check_amount(req: SaveRequest) -> None:
        if (req.object.get("amount") or 0) < 0:
            raise ParseError(ErrorCode.VALIDATION_ERROR, "amount must be ≥ 0")

Requests are typed per trigger (cloud/requests.py) and read and write through the server's one path with the
caller's permissions (`req.query`, `req.get`, `req.save`, `req.delete`, `master=True` for the master key's).
See docs/cloud-code.md.
"""

from ..errors import ErrorCode, ParseError
from ..values import Pointer
from .objects import ParseObject
from .registry import TRIGGERS, Cloud
from .requests import (
    AfterFindRequest,
    ConnectRequest,
    DeleteRequest,
    EventRequest,
    FindRequest,
    FunctionRequest,
    LoginRequest,
    LogoutRequest,
    Request,
    SaveRequest,
    SubscribeRequest,
)

__all__ = [
    "TRIGGERS",
    "AfterFindRequest",
    "Cloud",
    "ConnectRequest",
    "DeleteRequest",
    "ErrorCode",
    "EventRequest",
    "FindRequest",
    "FunctionRequest",
    "LoginRequest",
    "LogoutRequest",
    "ParseError",
    "ParseObject",
    "Pointer",
    "Request",
    "SaveRequest",
    "SubscribeRequest",
]
