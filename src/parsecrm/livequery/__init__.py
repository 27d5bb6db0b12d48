"""Live queries: Parse's LiveQuery protocol on the API's WebSocket (server.py), the permission-exact judgement of
every change for every subscriber (judge.py), the ordered stream of changes and subscriptions (hub.py), the
change feed captured by a trigger (feed.py), the bus that carries it to every server process (bus.py, redisbus.py)
and each client's frames (outbox.py, wire.py)."""

from .server import LiveQuery

__all__ = ["LiveQuery"]
