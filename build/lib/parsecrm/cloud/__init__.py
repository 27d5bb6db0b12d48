"""Cloud Code in Python: hooks and functions registered with decorators, run by the object and user paths.

from parsecrm.cloud import Cloud, Request, ParseError

cloud = Cloud()  # a deployment module exposes `cloud`, loaded with PARSE_CLOUD=module_or_path.py

@cloud.before_save("Deal")
async def check_amount(req: Request) -> None:
    if (req.object.get("amount") or 0) < 0:
        raise ParseError(142, "amount must be ≥ 0")
"""

from ..errors import ParseError
from .objects import ParseObject
from .registry import TRIGGERS, Cloud, Request

__all__ = ["TRIGGERS", "Cloud", "ParseError", "ParseObject", "Request"]
