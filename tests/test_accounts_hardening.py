"""Log-in and account hardening (issue 8, items 4 and 8): lock-out under parallel guesses, timing of unknown names,
usernames that are other people's emails, reset links that outlive a password change, rate limits, sign-up policy.

A wrong-password answer ("Invalid username/password.") means bcrypt was evaluated for that attempt; a locked answer
means it was refused before. So counting answers counts evaluations, through the real HTTP API.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import Api, Server, unique

HTTP = httpx.Client(timeout=60)  # one pool: a client per request reloads the CA bundle (~50 ms)

INVALID = "Invalid username/password."
SMALL_POOL = {"CRM_DB_POOL_SIZE": "4"}  # the machine's PostgreSQL is shared: 100 connections for everyone


def login(server: Server, username: str, password: str, ip: str | None = None) -> httpx.Response:
    headers = {"X-Parse-Application-Id": server.app_id}
    if ip:
        headers["X-Forwarded-For"] = ip  # uvicorn trusts it from 127.0.0.1 (a local reverse proxy)
    return HTTP.post(
        server.url + "/login", json={"username": username, "password": password}, headers=headers, timeout=60
    )


def parallel(n: int, fn: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    barrier = threading.Barrier(n)

    def go(i: int) -> httpx.Response:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


@pytest.fixture(scope="module")
def two_workers(make_server: Callable[..., Server]) -> Server:
    """Two server processes on one port and one database (real bcrypt cost, so guesses overlap in time)."""
    return make_server({"PARSE_BCRYPT_ROUNDS": "10", **SMALL_POOL}, workers=2)


def test_parallel_wrong_logins_get_no_more_tries_than_allowed(two_workers: Server) -> None:
    """40 simultaneous wrong passwords: exactly PARSE_LOGIN_MAX_FAILURES (5) are evaluated, the rest find the
    account locked; then even the right password is refused until the lock-out ends."""
    api = Api(two_workers)
    user = api.signup(unique("guess"), "right-password")
    answers = parallel(40, lambda i: login(two_workers, user["username"], f"wrong-{i}"))
    assert {r.status_code for r in answers} == {404}
    kinds = Counter("invalid" if r.json()["error"] == INVALID else "locked" for r in answers)
    assert kinds == {"invalid": 5, "locked": 35}, kinds
    assert "locked" in login(two_workers, user["username"], "right-password").json()["error"]


def test_a_success_clears_the_count(api: Api, server: Server) -> None:
    user = api.signup(unique("ok"), "right-password")
    for _ in range(4):
        assert login(server, user["username"], "nope").json()["error"] == INVALID
    assert login(server, user["username"], "right-password").status_code == 200
    for _ in range(4):  # four more wrong ones are fine again: the success reset the count
        assert login(server, user["username"], "nope").json()["error"] == INVALID
    assert login(server, user["username"], "right-password").status_code == 200


def test_unknown_usernames_take_as_long_as_known_ones(two_workers: Server) -> None:
    """The dummy hash uses the configured cost (10 here), so a wrong password costs the same for a name that
    exists and one that does not (before: cost 4 for unknown names, ~16x faster)."""
    api = Api(two_workers)
    names = [api.signup(unique("t"), "pw-right")["username"] for _ in range(3)]

    def timed(name: str) -> float:
        start = time.perf_counter()
        r = login(two_workers, name, "pw-wrong")
        assert r.json()["error"] == INVALID
        return time.perf_counter() - start

    timed("warm-up-" + unique())  # the dummy hash is made once per worker
    timed("warm-up-" + unique())
    known = statistics.median(timed(n) for n in names for _ in range(2))
    unknown = statistics.median(timed("nobody-" + unique()) for _ in range(6))
    # cost 4 against cost 10 is 2^6 = 64 times less work: a bound far from both 1 and 1/64 tells them apart even
    # on a loaded machine (medians of 6, against load spikes), where a tight one (0.6) failed without a regression
    assert unknown > known * 0.2, (known, unknown)


def test_a_username_cannot_be_someone_elses_email(api: Api, server: Server) -> None:
    victim = api.signup(unique("victim"), "victim-pw", email=f"{unique('v')}@example.com")
    mallory = api.signup(unique("mallory"), "mallory-pw")
    for claim in (victim["email"], victim["email"].upper()):
        r = api.put(f"users/{mallory['objectId']}", {"username": claim}, as_=mallory["sessionToken"])
        assert (r.status_code, r.json()["code"]) == (400, 202), r.text
        r = api.post("users", {"username": claim, "password": "x"}, as_=None)
        assert (r.status_code, r.json()["code"]) == (400, 202), r.text
        r = api.post(
            "batch",
            {
                "requests": [
                    {"method": "PUT", "path": f"/parse/users/{mallory['objectId']}", "body": {"username": claim}}
                ]
            },
            as_=mallory["sessionToken"],
        )
        assert r.json()[0]["error"]["code"] == 202
    r = login(server, victim["email"], "victim-pw")  # the SDK's logIn(email, password) still finds the victim
    assert (r.status_code, r.json()["objectId"]) == (200, victim["objectId"])


def test_an_email_cannot_be_someone_elses_username(api: Api) -> None:
    name = f"{unique('owner')}@example.com"
    api.signup(name, "pw-1")
    other = api.signup()
    r = api.put(f"users/{other['objectId']}", {"email": name}, as_=other["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (400, 203), r.text
    r = api.post("users", {"username": unique("u"), "password": "x", "email": name.upper()}, as_=None)
    assert (r.status_code, r.json()["code"]) == (400, 203), r.text
    me = api.signup(f"{unique('self')}@example.com")  # one's own username as one's email is fine
    r = api.put(f"users/{me['objectId']}", {"email": me["username"]}, as_=me["sessionToken"])
    assert r.status_code == 200, r.text


def reset_link(server: Server, email: str) -> str:
    for _ in range(50):
        found = re.findall(r"(http\S+request_password_reset\?token=\S+)", "".join(server.mails(email)))
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no reset mail to {email}")


@pytest.mark.parametrize("change", ["password", "email"])
def test_a_pending_reset_link_dies_on_password_or_email_change(api: Api, server: Server, change: str) -> None:
    user = api.signup(email=f"{unique('r')}@example.com")
    assert api.post("requestPasswordReset", {"email": user["email"]}, as_=None).json() == {}
    link = reset_link(server, user["email"])
    edit = {"password": "changed-pw"} if change == "password" else {"email": f"{unique('new')}@example.com"}
    r = api.put(f"users/{user['objectId']}", edit, as_=user["sessionToken"])
    assert r.status_code == 200, r.text
    r = HTTP.post(link, data={"new_password": "attacker-pw"})
    assert (r.status_code, r.json()["code"]) == (404, 101), r.text
    assert login(server, user["username"], "attacker-pw").status_code == 404


def test_reset_links_never_reach_the_log(api: Api, server: Server) -> None:
    user = api.signup(email=f"{unique('l')}@example.com")
    api.post("requestPasswordReset", {"email": user["email"]}, as_=None)
    token = reset_link(server, user["email"]).split("token=")[1]
    HTTP.get(reset_link(server, user["email"]))  # opening the page is logged by no one either
    log = server.log_path.read_text()
    assert token not in log and "request_password_reset?token=" not in log
    assert "outbox" in log  # the log says where the message went


# -- rate limits ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(make_server: Callable[..., Server]) -> Server:
    """Rate limits on (small, so the test is quick), two worker processes sharing them through PostgreSQL."""
    return make_server(
        {
            "PARSE_RATE_LIMITS": "true",
            "PARSE_RATE_LIMIT_LOGIN_IP": "6/60",
            "PARSE_RATE_LIMIT_LOGIN_USER": "4/60",
            "PARSE_RATE_LIMIT_SIGNUP_IP": "3/60",
            "PARSE_RATE_LIMIT_RESET_IP": "3/60",
            "PARSE_RATE_LIMIT_RESET_USER": "2/60",
            "PARSE_LOGIN_MAX_FAILURES": "0",
            **SMALL_POOL,  # lock-out off: what is measured here is the rate limit alone
        },
        workers=2,
    )


def signup_as(server: Server, ip: str, name: str | None = None) -> httpx.Response:
    return HTTP.post(
        server.url + "/users",
        json={"username": name or unique("rl"), "password": "pw"},
        headers={"X-Parse-Application-Id": server.app_id, "X-Forwarded-For": ip},
        timeout=30,
    )


def test_login_is_limited_per_account_across_processes(limited: Server) -> None:
    name = unique("acct")
    assert signup_as(limited, "10.1.0.1", name).status_code == 201
    answers = parallel(12, lambda i: login(limited, name, "wrong", ip=f"10.2.{i}.1"))  # 12 addresses, one account
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {404: 4, 429: 8}, statuses
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.json() == {"code": 100, "error": "Too many requests."}
    assert 1 <= int(refused.headers["retry-after"]) <= 30  # a token each 15 s; refused tries cost at most one more


def test_login_is_limited_per_address(limited: Server) -> None:
    answers = [login(limited, unique("who"), "x", ip="10.3.0.1") for _ in range(8)]
    assert [r.status_code for r in answers] == [404] * 6 + [429] * 2
    assert login(limited, unique("who"), "x", ip="10.3.0.2").status_code == 404  # another address is unaffected


def test_signup_and_reset_are_limited_per_address(limited: Server) -> None:
    assert [signup_as(limited, "10.4.0.1").status_code for _ in range(4)] == [201, 201, 201, 429]
    h = {"X-Parse-Application-Id": limited.app_id, "X-Forwarded-For": "10.5.0.1"}
    codes = [
        HTTP.post(
            limited.url + "/requestPasswordReset", json={"email": f"{unique('x')}@example.com"}, headers=h
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    mail = {"email": f"{unique('same')}@example.com"}
    codes = [
        HTTP.post(
            limited.url + "/requestPasswordReset", json=mail, headers={**h, "X-Forwarded-For": f"10.6.{i}.1"}
        ).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]  # one address mailed at most twice, whoever asks


def test_batch_items_are_limited_too(limited: Server) -> None:
    requests = [
        {"method": "POST", "path": "/parse/login", "body": {"username": unique("b"), "password": "x"}} for _ in range(8)
    ]
    r = HTTP.post(
        limited.url + "/batch",
        json={"requests": requests},
        headers={"X-Parse-Application-Id": limited.app_id, "X-Forwarded-For": "10.7.0.1"},
    )
    codes = [item["error"]["code"] for item in r.json()]
    # A batch whose items fail is run a second time item by item, and a spent token is never given back (else a
    # failing guess could undo its own count): so fewer than six may be evaluated, never more.
    assert set(codes) <= {101, 100} and codes.count(101) <= 6 and codes[-2:] == [100, 100], codes


def test_the_master_key_is_never_limited(limited: Server) -> None:
    h = {"X-Parse-Application-Id": limited.app_id, "X-Parse-Master-Key": limited.master_key}
    codes = [
        HTTP.post(limited.url + "/users", json={"username": unique("m"), "password": "pw"}, headers=h).status_code
        for _ in range(5)
    ]
    assert codes == [201] * 5


# -- sign-up policy ------------------------------------------------------------------------------------------------


def invite_link(server: Server, email: str) -> str:
    for _ in range(50):
        found = re.findall(r"(http\S+/invite\?token=\S+)", "".join(server.mails(email)))
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no invitation mail to {email}")


def make_manager(api: Api) -> dict[str, str]:
    manager = api.post("users", {"username": unique("mgr"), "password": "pw"}).json()  # the master key signs up
    role = api.get("roles", params={"where": {"name": "Managers"}}).json()["results"][0]["objectId"]
    pointer = {"__type": "Pointer", "className": "_User", "objectId": manager["objectId"]}
    assert api.put(f"roles/{role}", {"users": {"__op": "AddRelation", "objects": [pointer]}}).status_code == 200
    return manager


@pytest.fixture(scope="module")
def invite_only(make_server: Callable[..., Server]) -> Server:
    return make_server({"CRM_SIGNUP": "invite", **SMALL_POOL})


def test_invite_only_signup(invite_only: Server) -> None:
    srv = invite_only
    api = Api(srv)
    r = api.post("users", {"username": unique("x"), "password": "pw"}, as_=None)
    assert (r.status_code, r.json()["code"]) == (400, 119), r.text
    r = api.post(
        "batch",
        {"requests": [{"method": "POST", "path": "/parse/users", "body": {"username": unique("x"), "password": "pw"}}]},
        as_=None,
    )
    assert r.json()[0]["error"]["code"] == 119
    assert api.post("users", {"username": unique("direct"), "password": "pw"}).status_code == 201  # master key
    manager = make_manager(api)
    rep = api.post("users", {"username": unique("rep"), "password": "pw"}).json()
    email = f"{unique('new')}@example.com"
    r = api.post("functions/inviteUser", {"email": email}, as_=rep["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (400, 119)  # reps cannot invite
    r = api.post("functions/inviteUser", {"email": email}, as_=manager["sessionToken"])
    assert r.status_code == 200 and r.json()["result"]["email"] == email, r.text
    link = invite_link(srv, email)
    assert link.split("token=")[1] not in srv.log_path.read_text()
    page = HTTP.get(link)
    assert page.status_code == 200 and 'name="password"' in page.text
    r = HTTP.post(link, data={"username": unique("invited"), "password": "new-pw"})
    assert r.status_code == 201, r.text
    created = api.get(f"users/{r.json()['objectId']}").json()
    assert created["email"] == email
    assert HTTP.post(link, data={"username": unique("again"), "password": "pw"}).json()["code"] == 101  # once


def test_an_sdk_signs_up_with_the_invitation_token(invite_only: Server) -> None:
    srv = invite_only
    api = Api(srv)
    email = f"{unique('sdk')}@example.com"
    assert api.post("functions/inviteUser", {"email": email}).status_code == 200
    token = invite_link(srv, email).split("token=")[1]
    r = api.post(
        "users",
        {"username": unique("s"), "password": "pw", "inviteToken": token, "email": "someone-else@example.com"},
        as_=None,
    )
    assert (r.status_code, r.json()["code"]) == (400, 125)  # the invitation was for another address
    r = api.post("users", {"username": unique("s"), "password": "pw", "inviteToken": token}, as_=None)
    assert r.status_code == 201, r.text
    assert "inviteToken" not in api.get(f"users/{r.json()['objectId']}").json()


def test_domain_signup_needs_the_mailed_link(make_server: Callable[..., Server]) -> None:
    srv = make_server({"CRM_SIGNUP": "domains", "CRM_SIGNUP_DOMAINS": "acme.test", **SMALL_POOL})
    api = Api(srv)
    r = api.post("users", {"username": unique("x"), "password": "pw", "email": f"{unique('a')}@acme.test"}, as_=None)
    assert (r.status_code, r.json()["code"]) == (400, 119)  # typing an @acme.test address proves nothing
    r = api.post("functions/requestInvite", {"email": f"{unique('e')}@evil.test"}, as_=None)
    assert (r.status_code, r.json()["code"]) == (400, 119)
    email = f"{unique('a')}@acme.test"
    assert api.post("functions/requestInvite", {"email": email}, as_=None).json() == {"result": {}}
    r = HTTP.post(invite_link(srv, email), data={"username": unique("acme"), "password": "pw"})
    assert r.status_code == 201, r.text
    assert api.post("functions/requestInvite", {"email": email}, as_=None).json() == {"result": {}}  # no probing
    assert len(srv.mails(email)) == 1
