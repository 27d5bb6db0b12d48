"""X-Parse-Request-Id: a retried write returns the first answer instead of running twice."""

from __future__ import annotations

import concurrent.futures
import uuid

from conftest import Api, unique


def test_retry_replays_first_response(api: Api) -> None:
    cls = unique("Idem")
    rid = str(uuid.uuid4())
    first = api.post(f"classes/{cls}", {"n": 1}, headers={"X-Parse-Request-Id": rid})
    second = api.post(f"classes/{cls}", {"n": 1}, headers={"X-Parse-Request-Id": rid})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["location"] == first.headers["location"]
    assert api.get(f"classes/{cls}", params={"count": 1, "limit": 0}).json()["count"] == 1


def test_increment_runs_once(api: Api) -> None:
    cls = unique("IdemInc")
    oid = api.post(f"classes/{cls}", {"n": 0}).json()["objectId"]
    rid = str(uuid.uuid4())
    body = {"n": {"__op": "Increment", "amount": 1}}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda _: api.put(f"classes/{cls}/{oid}", body, headers={"X-Parse-Request-Id": rid}), range(4))
        )
    assert all(r.status_code == 200 for r in results)
    assert {r.json()["n"] for r in results} == {1}
    assert api.get(f"classes/{cls}/{oid}").json()["n"] == 1


def test_failed_write_can_be_retried(api: Api) -> None:
    cls = unique("IdemFail")
    api.post(f"classes/{cls}", {"n": 0})
    rid = str(uuid.uuid4())
    assert api.post(f"classes/{cls}", {"n": "x"}, headers={"X-Parse-Request-Id": rid}).json()["code"] == 111
    r = api.post(f"classes/{cls}", {"n": 5}, headers={"X-Parse-Request-Id": rid})
    assert r.status_code == 201  # the failure left no record, so the corrected retry runs


def test_same_id_on_another_request_is_a_duplicate(api: Api) -> None:
    cls = unique("IdemDup")
    rid = str(uuid.uuid4())
    api.post(f"classes/{cls}", {"n": 1}, headers={"X-Parse-Request-Id": rid})
    r = api.post(f"classes/{cls}x", {"n": 1}, headers={"X-Parse-Request-Id": rid})
    assert r.status_code == 400 and r.json() == {"code": 159, "error": "Duplicate request"}


def test_another_caller_cannot_replay_an_answer(api: Api) -> None:
    cls = unique("IdemWho")
    rid = str(uuid.uuid4())
    alice = api.signup()
    first = api.post(f"classes/{cls}", {"secret": "alice's"}, as_=alice["sessionToken"],
                     headers={"X-Parse-Request-Id": rid})
    assert first.status_code == 201
    r = api.post(f"classes/{cls}", {"secret": "x"}, as_=None, headers={"X-Parse-Request-Id": rid})
    assert r.status_code == 400 and r.json()["code"] == 159  # not alice's answer


def test_a_replay_must_be_the_same_request(api: Api) -> None:
    """Issue 8: another anonymous client sending a known sign-up id with another body must not get the first
    user's session token; the same request again is a retry and gets the first answer."""
    rid = str(uuid.uuid4())
    first = api.post("users", {"username": unique("idem"), "password": "pw-one"}, as_=None,
                     headers={"X-Parse-Request-Id": rid})
    assert first.status_code == 201
    other = api.post("users", {"username": unique("idem"), "password": "pw-two"}, as_=None,
                     headers={"X-Parse-Request-Id": rid})
    assert other.status_code == 400 and other.json() == {"code": 159, "error": "Duplicate request"}
    assert "sessionToken" not in other.text


def test_a_retry_of_the_same_body_replays(api: Api) -> None:
    rid = str(uuid.uuid4())
    body = {"username": unique("idem"), "password": "pw-one"}
    first = api.post("users", body, as_=None, headers={"X-Parse-Request-Id": rid})
    again = api.post("users", dict(reversed(list(body.items()))), as_=None, headers={"X-Parse-Request-Id": rid})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
