"""stub"""


async def page(backend, req):
    return 200, b"{}", []
