"""GeoPoint and Bytes fields and the geo queries ($nearSphere, $within $box, $geoWithin $centerSphere/$polygon)
over REST against a real server; the SDK's own calls are in tests/sdk/geo.test.mjs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from conftest import Api, Server, unique


def gp(lat: float, lng: float) -> dict[str, Any]:
    return {"__type": "GeoPoint", "latitude": lat, "longitude": lng}


CITIES = {
    "paris": gp(48.8566, 2.3522),
    "london": gp(51.5074, -0.1278),
    "berlin": gp(52.52, 13.405),
    "madrid": gp(40.4168, -3.7038),
    "nyc": gp(40.7128, -74.006),
}


def seed(api: Api) -> str:
    cls = unique("Place")
    for name, where in CITIES.items():
        r = api.post(f"classes/{cls}", {"name": name, "location": where})
        assert r.status_code == 201, r.text
    return cls


def names(api: Api, cls: str, where: dict[str, Any], **params: Any) -> list[str]:
    r = api.get(f"classes/{cls}", {"where": where, **params})
    assert r.status_code == 200, r.text
    return [o["name"] for o in r.json()["results"]]


def test_geopoint_and_bytes_round_trip(api: Api) -> None:
    cls = unique("Geo")
    blob = {"__type": "Bytes", "base64": "aGVsbG8="}
    r = api.post(f"classes/{cls}", {"location": gp(48.8566, 2.3522), "blob": blob})
    assert r.status_code == 201, r.text
    row = api.get(f"classes/{cls}/{r.json()['objectId']}").json()
    assert row["location"] == gp(48.8566, 2.3522)
    assert row["blob"] == blob
    fields = api.get(f"schemas/{cls}").json()["fields"]
    assert fields["location"] == {"type": "GeoPoint"} and fields["blob"] == {"type": "Bytes"}
    assert len(api.get(f"classes/{cls}", {"where": {"blob": blob}}).json()["results"]) == 1
    assert len(api.get(f"classes/{cls}", {"where": {"location": gp(48.8566, 2.3522)}}).json()["results"]) == 1
    assert api.get(f"classes/{cls}", {"where": {"location": gp(48.0, 2.3522)}}).json()["results"] == []


def test_bad_geopoints_and_a_second_geopoint_field(api: Api) -> None:
    cls = unique("Geo")
    r = api.post(f"classes/{cls}", {"location": gp(91, 0)})
    assert r.status_code == 400 and r.json() == {"code": 111, "error": "GeoPoint latitude out of bounds: 91 > 90.0."}
    r = api.post(f"classes/{cls}", {"location": {"__type": "GeoPoint", "latitude": "x", "longitude": 1}})
    assert r.json()["code"] == 111
    assert api.post(f"classes/{cls}", {"location": gp(1, 2)}).status_code == 201
    r = api.post(f"classes/{cls}", {"other": gp(1, 2)})
    assert r.status_code == 400 and r.json() == {
        "code": 111,
        "error": "currently, only one GeoPoint field may exist in an object. Adding other when location already "
        "exists.",
    }
    r = api.put(f"schemas/{cls}", {"className": cls, "fields": {"third": {"type": "GeoPoint"}}})
    assert r.json()["code"] == 111
    assert api.get(f"classes/{cls}").json()["results"][0]["location"] == gp(1, 2)  # nothing half-written


def test_near_sphere_sorted_and_bounded(api: Api) -> None:
    cls = seed(api)
    paris = CITIES["paris"]
    assert names(api, cls, {"location": {"$nearSphere": paris}}) == ["paris", "london", "berlin", "madrid", "nyc"]
    bounded = {"location": {"$nearSphere": paris, "$maxDistanceInKilometers": 1000}}
    assert names(api, cls, bounded) == ["paris", "london", "berlin"]
    assert names(api, cls, {"location": {"$nearSphere": paris, "$maxDistanceInMiles": 400}}) == ["paris", "london"]
    assert names(api, cls, {"location": {"$nearSphere": paris, "$maxDistanceInRadians": 0.01}}) == ["paris"]
    assert names(api, cls, bounded, order="name") == ["berlin", "london", "paris"]  # an order wins
    r = api.get(f"classes/{cls}", {"where": bounded, "count": 1, "limit": 0})
    assert r.json()["count"] == 3


def test_box_center_sphere_and_polygon(api: Api) -> None:
    cls = seed(api)
    box = {"location": {"$within": {"$box": [gp(45, -5), gp(53, 5)]}}}
    assert sorted(names(api, cls, box)) == ["london", "paris"]
    sphere = {"location": {"$geoWithin": {"$centerSphere": [[2.3522, 48.8566], 900 / 6371]}}}
    assert sorted(names(api, cls, sphere)) == ["berlin", "london", "paris"]
    europe = [gp(36, -10), gp(60, -10), gp(60, 20), gp(36, 20)]
    assert sorted(names(api, cls, {"location": {"$geoWithin": {"$polygon": europe}}})) == [
        "berlin",
        "london",
        "madrid",
        "paris",
    ]
    triangle = [[-10, 36], [20, 36], [-10, 60]]  # [lng, lat] pairs, as parse-server also accepts
    assert sorted(names(api, cls, {"location": {"$geoWithin": {"$polygon": triangle}}})) == [
        "london",
        "madrid",
        "paris",
    ]


def test_bad_geo_queries(api: Api) -> None:
    cls = seed(api)
    cases = [
        ({"$nearSphere": gp(100, 0)}, 107),
        ({"$nearSphere": gp(1, 1), "$maxDistanceInKilometers": "far"}, 107),
        ({"$maxDistance": 1}, 102),
        ({"$within": {"$box": [gp(1, 1)]}}, 107),
        ({"$geoWithin": {"$polygon": [gp(1, 1), gp(2, 2)]}}, 107),
        ({"$geoWithin": {"$polygon": "x"}}, 107),
        ({"$geoWithin": {"$centerSphere": [[1, 1]]}}, 107),
        ({"$geoWithin": {"$centerSphere": [[1, 1], -1]}}, 107),
        ({"$geoWithin": {"$centerSphere": ["x", 1]}}, 107),
    ]
    for constraint, code in cases:
        r = api.get(f"classes/{cls}", {"where": {"location": constraint}})
        assert r.status_code == 400 and r.json()["code"] == code, (constraint, r.text)
    messages = {
        "$polygon": "bad $geoWithin value; $polygon should contain at least 3 GeoPoints",
        "$centerSphere": "bad $geoWithin value; $centerSphere distance invalid",
    }
    r = api.get(f"classes/{cls}", {"where": {"location": {"$geoWithin": {"$polygon": [gp(1, 1)]}}}})
    assert r.json()["error"] == messages["$polygon"]
    r = api.get(f"classes/{cls}", {"where": {"location": {"$geoWithin": {"$centerSphere": [[1, 1], -1]}}}})
    assert r.json()["error"] == messages["$centerSphere"]
    # a geo query on a field that is no GeoPoint matches nothing
    assert names(api, cls, {"name": {"$nearSphere": gp(1, 1)}}) == []


def test_polygon_field_and_geo_intersects(api: Api) -> None:
    cls = unique("Area")
    france = {"__type": "Polygon", "coordinates": [[51, -5], [51, 8], [42, 8], [42, -5]]}
    spain = {"__type": "Polygon", "coordinates": [[43.5, -9.5], [43.5, 3.3], [36, 3.3], [36, -9.5], [43.5, -9.5]]}
    for name, area in (("france", france), ("spain", spain)):
        r = api.post(f"classes/{cls}", {"name": name, "area": area})
        assert r.status_code == 201, r.text
    assert api.get(f"schemas/{cls}").json()["fields"]["area"] == {"type": "Polygon"}
    rows = {o["name"]: o["area"] for o in api.get(f"classes/{cls}").json()["results"]}
    assert rows["france"] == {"__type": "Polygon", "coordinates": [*france["coordinates"], [51, -5]]}  # closed
    assert rows["spain"] == spain

    def containing(lat: float, lng: float) -> list[str]:
        return sorted(names(api, cls, {"area": {"$geoIntersects": {"$point": gp(lat, lng)}}}))

    assert containing(48.8566, 2.3522) == ["france"]
    assert containing(40.4168, -3.7038) == ["spain"]
    assert containing(42.5, 1.5) == ["france", "spain"]
    assert containing(52.52, 13.405) == []
    assert names(api, cls, {"area": rows["spain"]}) == ["spain"]

    bad = [
        ({"__type": "Polygon", "coordinates": [[1, 1], [2, 2]]}, 107, "Polygon must have at least 3 values"),
        ({"__type": "Polygon", "coordinates": [[1, 1], [2, 2], [1, 1]]}, 107, None),
        ({"__type": "Polygon", "coordinates": [[1, 1], [2, 2], [95, 3]]}, 111, None),
        ({"__type": "Polygon", "coordinates": "x"}, 107, None),
    ]
    for value, code, message in bad:
        r = api.post(f"classes/{cls}", {"area": value})
        assert r.status_code == 400 and r.json()["code"] == code, (value, r.text)
        if message:
            assert r.json()["error"] == message
    r = api.get(f"classes/{cls}", {"where": {"area": {"$geoIntersects": {"$point": [1, 2]}}}})
    assert r.json() == {"code": 107, "error": "bad $geoIntersect value; $point should be GeoPoint"}


def test_geo_values_through_graphql(api: Api) -> None:
    from graphql_client import Gql

    cls = unique("Geo")
    values = {
        "location": gp(1.5, 2.5),
        "blob": {"__type": "Bytes", "base64": "AAE="},
        "area": {"__type": "Polygon", "coordinates": [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]},
    }
    made = api.post(f"classes/{cls}", values)
    assert made.status_code == 201, made.text
    key = cls[:1].lower() + cls[1:]
    point = "{ latitude longitude }"
    got = Gql(api.server)(
        f"query($id: ID!) {{ {key}(id: $id) {{ location {point} blob area {point} }} }}",
        {"id": made.json()["objectId"]},
    )
    # parse-server's GraphQL types: GeoPoint {latitude longitude}, Polygon [GeoPoint!] ([latitude, longitude] pairs),
    # Bytes its base64 text
    assert got[key] == {
        "location": {"latitude": 1.5, "longitude": 2.5},
        "blob": "AAE=",
        "area": [{"latitude": a, "longitude": b} for a, b in values["area"]["coordinates"]],
    }


def test_live_query_with_a_geo_where(make_server: Callable[..., Server]) -> None:
    """The live-query matcher (the evaluator) applies the same geo tests as the SQL: enter, leave, no event."""
    from test_livequery import next_event, no_event, subscribe

    server = make_server({"PARSE_LIVE_QUERY_CLASSES": "Spot", "CRM_DB_POOL_SIZE": "3"})
    api = Api(server)
    api.post("classes/Spot", {"location": CITIES["nyc"]})  # the class and its GeoPoint field exist
    near_paris = {"location": {"$geoWithin": {"$centerSphere": [[2.3522, 48.8566], 500 / 6371]}}}
    in_area = {"area": {"$geoIntersects": {"$point": CITIES["paris"]}}}
    france = {"__type": "Polygon", "coordinates": [[51, -5], [51, 8], [42, 8], [42, -5]]}

    async def go() -> None:
        ws = await subscribe(server, near_paris, cls="Spot")
        far = api.post("classes/Spot", {"location": CITIES["nyc"]}).json()["objectId"]
        await no_event(ws)
        oid = api.post("classes/Spot", {"location": CITIES["london"]}).json()["objectId"]
        event = await next_event(ws)
        assert (event["op"], event["object"]["objectId"]) == ("create", oid)
        assert event["object"]["location"] == CITIES["london"]  # as REST shows it
        api.put(f"classes/Spot/{oid}", {"location": CITIES["berlin"]})  # 878 km from Paris
        assert (await next_event(ws))["op"] == "leave"
        api.put(f"classes/Spot/{far}", {"location": CITIES["paris"]})
        event = await next_event(ws)
        assert (event["op"], event["object"]["objectId"]) == ("enter", far)
        await ws.close()
        areas = await subscribe(server, in_area, cls="Spot")
        made = api.post("classes/Spot", {"area": france}).json()["objectId"]
        event = await next_event(areas)
        assert (event["op"], event["object"]["objectId"]) == ("create", made)
        assert event["object"]["area"] == {"__type": "Polygon", "coordinates": [*france["coordinates"], [51, -5]]}
        await areas.close()

    asyncio.run(go())


def test_order_distinct_and_group_on_geo_fields(api: Api) -> None:
    cls = seed(api)
    assert names(api, cls, {}, order="location") == ["madrid", "nyc", "paris", "london", "berlin"]  # by latitude
    assert names(api, cls, {}, order="-location")[0] == "berlin"
    api.post(f"classes/{cls}", {"name": "paris again", "location": CITIES["paris"]})
    r = api.get(f"aggregate/{cls}", {"distinct": "location"})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["results"], key=lambda g: g["latitude"]) == sorted(
        CITIES.values(), key=lambda g: g["latitude"]
    )
    r = api.get(f"aggregate/{cls}", {"pipeline": [{"$group": {"_id": "$location", "n": {"$sum": 1}}}]})
    assert r.status_code == 200, r.text
    counts = {(g["objectId"]["latitude"], g["objectId"]["longitude"]): g["n"] for g in r.json()["results"]}
    assert counts[(48.8566, 2.3522)] == 2 and len(counts) == 5
