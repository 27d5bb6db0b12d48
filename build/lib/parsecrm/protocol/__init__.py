"""The HTTP edge: decode a request (transport.py), route it (router.py) to a handler module, encode the answer."""
