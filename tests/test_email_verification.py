"""Email verification (issue 15): emailVerified, the mailed link and its page, /verificationEmailRequest, and
parse-server's settings verifyUserEmails, preventLoginWithUnverifiedEmail, emailVerifyTokenValidityDuration and
emailVerifySuccessOnInvalidEmail — against real servers, reading the development outbox as a user reads mail."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from conftest import Api, Server, unique

LINK = re.compile(r"(http://\S+/apps/[^/\s]+/verify_email\?token=\S+)")


@pytest.fixture(scope="module")
def verifying(make_server: Callable[..., Server]) -> Api:
    return Api(make_server({"PARSE_VERIFY_USER_EMAILS": "true", "PARSE_EMAIL_VERIFY_TOKEN_VALIDITY_DURATION": "3600"}))


@pytest.fixture(scope="module")
def strict(make_server: Callable[..., Server]) -> Api:
    return Api(
        make_server(
            {
                "PARSE_VERIFY_USER_EMAILS": "true",
                "PARSE_PREVENT_LOGIN_WITH_UNVERIFIED_EMAIL": "true",
                "PARSE_EMAIL_VERIFY_SUCCESS_ON_INVALID_EMAIL": "false",
            }
        )
    )


def links(api: Api, to: str) -> list[str]:
    return [m for mail in api.server.mails(to) for m in LINK.findall(mail)]


def open_link(link: str) -> httpx.Response:
    return httpx.get(link, timeout=30)


def sign_up(api: Api, **extra: Any) -> dict[str, Any]:
    name = unique("ver")
    email = f"{name}@example.com"
    r = api.post("users", {"username": name, "password": "pw-123456", "email": email, **extra}, as_=None)
    assert r.status_code == 201, r.text
    return {**r.json(), "username": name, "email": email}


def db_fetchval(server: Server, sql: str, *args: Any) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(server.database_url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_sign_up_mails_a_link_that_verifies_once(verifying: Api) -> None:
    user = sign_up(verifying)
    assert user["emailVerified"] is False and user["sessionToken"]
    me = verifying.get("users/me", as_=user["sessionToken"]).json()
    assert me["emailVerified"] is False
    [link] = links(verifying, user["email"])
    assert link.startswith(verifying.server.url + "/apps/testapp/verify_email?token=")
    page = open_link(link)
    assert page.status_code == 200 and "Email verified" in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert verifying.get("users/me", as_=user["sessionToken"]).json()["emailVerified"] is True
    assert open_link(link).status_code == 400  # used
    token = link.split("token=", 1)[1]
    assert token not in verifying.server.log()  # a credential never reaches the log
    listed = verifying.get(f"users/{user['objectId']}").json()
    assert not any(k.startswith("_") for k in listed)  # the token columns are never fields
    schema = verifying.get("schemas/_User").json()["fields"]
    assert "_email_verify_token_expires_at" not in schema and schema["emailVerified"] == {"type": "Boolean"}


def test_a_changed_email_is_verified_again(verifying: Api) -> None:
    user = sign_up(verifying)
    [first] = links(verifying, user["email"])
    new = f"{unique('chg')}@example.com"
    r = verifying.put(f"users/{user['objectId']}", {"email": new}, as_=user["sessionToken"])
    assert r.status_code == 200 and r.json()["emailVerified"] is False, r.text
    assert open_link(first).status_code == 400  # the link for the old address died
    [second] = links(verifying, new)
    assert open_link(second).status_code == 200
    assert verifying.get("users/me", as_=user["sessionToken"]).json()["emailVerified"] is True


def test_the_link_expires(verifying: Api) -> None:
    user = sign_up(verifying)
    [link] = links(verifying, user["email"])
    server = verifying.server
    left = db_fetchval(
        server,
        'SELECT extract(epoch FROM "_email_verify_token_expires_at" - now()) FROM "_User" WHERE "objectId" = $1',
        user["objectId"],
    )
    assert 3000 < left <= 3600  # PARSE_EMAIL_VERIFY_TOKEN_VALIDITY_DURATION
    db_fetchval(
        server,
        'UPDATE "_User" SET "_email_verify_token_expires_at" = now() - interval \'1 second\' WHERE "objectId" = $1',
        user["objectId"],
    )
    assert open_link(link).status_code == 400
    assert verifying.get("users/me", as_=user["sessionToken"]).json()["emailVerified"] is False


def test_verification_email_request(verifying: Api) -> None:
    r = verifying.post("verificationEmailRequest", {}, as_=None)
    assert (r.status_code, r.json()) == (400, {"code": 204, "error": "you must provide an email"})
    r = verifying.post("verificationEmailRequest", {"email": 12}, as_=None)
    assert (r.status_code, r.json()["code"]) == (400, 125)
    nobody = f"{unique('nobody')}@example.com"
    r = verifying.post("verificationEmailRequest", {"email": nobody}, as_=None)
    assert (r.status_code, r.json()) == (200, {})  # no account probing
    assert verifying.server.mails(nobody) == []
    user = sign_up(verifying)
    [first] = links(verifying, user["email"])
    r = verifying.post("verificationEmailRequest", {"email": user["email"].upper()}, as_=None)
    assert (r.status_code, r.json()) == (200, {})
    first_again, second = links(verifying, user["email"])
    assert first_again == first and second != first
    assert open_link(first).status_code == 400  # replaced by the new one
    assert open_link(second).status_code == 200
    r = verifying.post("verificationEmailRequest", {"email": user["email"]}, as_=None)
    assert (r.status_code, r.json()) == (200, {})
    assert len(links(verifying, user["email"])) == 2  # already verified: no mail


def test_clients_cannot_verify_themselves_but_the_master_key_can(verifying: Api) -> None:
    user = sign_up(verifying)
    r = verifying.put(f"users/{user['objectId']}", {"emailVerified": True}, as_=user["sessionToken"])
    assert (r.status_code, r.json()["code"]) == (400, 119)
    r = verifying.put(f"users/{user['objectId']}", {"emailVerified": True}, as_="master")
    assert r.status_code == 200
    assert verifying.get("users/me", as_=user["sessionToken"]).json()["emailVerified"] is True


def test_prevent_login_until_verified(strict: Api) -> None:
    name = unique("strict")
    email = f"{name}@example.com"
    r = strict.post("users", {"username": name, "password": "pw-123456", "email": email}, as_=None)
    assert r.status_code == 201 and "sessionToken" not in r.json(), r.text
    r = strict.post("login", {"username": name, "password": "pw-123456"}, as_=None)
    assert (r.status_code, r.json()) == (400, {"code": 205, "error": "User email is not verified."})
    r = strict.post("login", {"username": name, "password": "wrong-pw"}, as_=None)
    assert r.json()["code"] == 101  # the password is checked first: 205 tells nothing to a guesser
    [link] = links(strict, email)
    assert open_link(link).status_code == 200
    r = strict.post("login", {"username": name, "password": "pw-123456"}, as_=None)
    assert r.status_code == 200 and r.json()["emailVerified"] is True
    anon = strict.post("users", {"authData": {"anonymous": {"id": unique("anon")}}}, as_=None)
    assert anon.status_code == 201 and anon.json()["sessionToken"]  # nothing to verify: not held back


def test_strict_answers_for_unknown_and_verified_addresses(strict: Api) -> None:
    nobody = f"{unique('nobody')}@example.com"
    r = strict.post("verificationEmailRequest", {"email": nobody}, as_=None)
    assert (r.status_code, r.json()) == (400, {"code": 205, "error": f"No user found with email {nobody}"})
    name = unique("strict")
    email = f"{name}@example.com"
    strict.post("users", {"username": name, "password": "pw-123456", "email": email}, as_=None)
    [link] = links(strict, email)
    open_link(link)
    r = strict.post("verificationEmailRequest", {"email": email}, as_=None)
    assert (r.status_code, r.json()) == (400, {"code": -1, "error": f"Email {email} is already verified."})


def test_without_verification_nothing_changes(api: Api) -> None:
    user = sign_up(api)
    assert "emailVerified" not in user
    assert "emailVerified" not in api.get("users/me", as_=user["sessionToken"]).json()
    r = api.post("verificationEmailRequest", {"email": user["email"]}, as_=None)
    assert (r.status_code, r.json()) == (200, {})
    assert api.server.mails(user["email"]) == []
    page = open_link(f"{api.server.url}/apps/{api.server.app_id}/verify_email?token=nonsense")
    assert page.status_code == 400 and "Invalid link" in page.text
