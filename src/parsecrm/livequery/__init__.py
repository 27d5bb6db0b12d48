"""Live queries: Parse's LiveQuery protocol on the API's WebSocket (server.py), the permission-exact judgement of
every change for every subscriber (hub.py), the change feed captured by a trigger (feed.py) and the bus that
carries it to every server process (bus.py)."""

from .server import LiveQuery

__all__ = ["LiveQuery"]
