"""stub"""


async def page(backend, req):
    return 200, b"{}", []


seed_export = parse_export = page
