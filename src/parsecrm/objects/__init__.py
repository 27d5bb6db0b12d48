"""The one read/write path every entrance takes to the data: REST, batch, Cloud Code, and next live queries,
GraphQL, agent tools and sync.

    from parsecrm import objects
    body = await objects.find_response(backend, caller, "Deal", {"where": {...}, "limit": 20})  # bytes
    deals = await objects.query_json(backend, caller, "Deal", {"where": {...}})                  # list[dict]
    deal = await objects.fetch_json(backend, caller, "Deal", object_id)                         # dict | None
    made = await objects.create(backend, caller, "Deal", {"title": "x"})                        # response dict
    await objects.update(backend, caller, "Deal", object_id, {"stage": "won"})
    await objects.delete(backend, caller, "Deal", object_id)

Every function checks the caller's permissions (security/policy.py) inside its SQL, runs the class's hooks, and
takes `unit=` (a Unit: one transaction, e.g. a batch's or a hook's; None: the pool, and a fresh transaction per
write). Modules: read.py (the read plan), write.py (create/update/delete) and steps.py (the checks they share),
field_ops.py (operations as SQL),
effects.py (system-class side effects), hooks.py (running triggers), unit.py (the transaction and its schemas).
"""

from . import hooks
from .cloud_api import CloudData
from .effects import auth_changed
from .read import count, fetch_json, find_response, get_response, query_json, rules_for
from .steps import ID_ALPHABET, new_id
from .unit import Unit, connection, schema_for, schemas_for
from .write import create, create_later, create_many, delete, flush_deferred, in_unit, update

hooks.data_for = CloudData

__all__ = [
    "ID_ALPHABET",
    "CloudData",
    "Unit",
    "auth_changed",
    "connection",
    "count",
    "create",
    "create_later",
    "create_many",
    "delete",
    "fetch_json",
    "find_response",
    "flush_deferred",
    "get_response",
    "in_unit",
    "new_id",
    "query_json",
    "rules_for",
    "schema_for",
    "schemas_for",
    "update",
]
