"""Users in parse-server's GraphQL shape (its usersMutations.js / usersQueries.js): `viewer`, `signUp`, `logIn`,
`logInWith` (authData), `logOut`, `resetPassword`, `confirmResetPassword`, `sendVerificationEmail`.

Every resolver calls what the REST route calls, through `data` (users.py, auth/reset.py, auth/verify.py): the same
rate limits, the same errors, the same mails; nothing here checks a password, a token or a permission itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLString,
)

from .. import errors
from ..errors import ParseError
from . import data
from .loader import CLASS_KEY
from .scalars import OBJECT

if TYPE_CHECKING:
    from .build import Builder
    from .resolvers import Context

USER = "_User"
NOT_IN_LOG_IN_WITH = ("username", "password", "authData")  # parse-server's UserLoginWithInput leaves these out


def _tag(user: dict[str, Any]) -> dict[str, Any]:
    user[CLASS_KEY] = USER
    return user


def add_fields(b: Builder, query: dict[str, GraphQLField], mutation: dict[str, GraphQLField]) -> None:
    viewer = GraphQLObjectType(
        "Viewer",
        {
            "sessionToken": GraphQLField(GraphQLNonNull(GraphQLString)),
            "user": GraphQLField(GraphQLNonNull(b.object_type(USER))),
        },
    )
    query["viewer"] = GraphQLField(GraphQLNonNull(viewer), resolve=resolve_viewer)
    carries_viewer = {"viewer": GraphQLField(GraphQLNonNull(viewer))}
    ok = {"ok": GraphQLField(GraphQLNonNull(GraphQLBoolean), description="It's always true.")}
    text = GraphQLInputField(GraphQLNonNull(GraphQLString))

    def fields_for_log_in_with() -> dict[str, GraphQLInputField]:
        create = b.fields_input(USER, True).fields
        return {k: v for k, v in create.items() if k not in NOT_IN_LOG_IN_WITH}

    mutation["signUp"] = GraphQLField(
        b.payload("SignUpPayload", carries_viewer),
        {"input": b.input("SignUpInput", {"fields": GraphQLInputField(b.fields_input(USER, True))})},
        resolve=sign_up,
    )
    mutation["logInWith"] = GraphQLField(
        b.payload("LogInWithPayload", carries_viewer),
        {
            "input": b.input(
                "LogInWithInput",
                {
                    "authData": GraphQLInputField(GraphQLNonNull(OBJECT)),
                    "fields": GraphQLInputField(GraphQLInputObjectType("UserLoginWithInput", fields_for_log_in_with)),
                },
            )
        },
        resolve=log_in_with,
        description="Sign up or log in with a provider's credentials (REST: POST /users with authData).",
    )
    mutation["logIn"] = GraphQLField(
        b.payload("LogInPayload", carries_viewer),
        {"input": b.input("LogInInput", {"username": text, "password": text})},
        resolve=log_in,
    )
    mutation["logOut"] = GraphQLField(
        b.payload("LogOutPayload", ok), {"input": b.input("LogOutInput", {})}, resolve=log_out
    )
    mutation["resetPassword"] = GraphQLField(
        b.payload("ResetPasswordPayload", ok),
        {"input": b.input("ResetPasswordInput", {"email": text})},
        resolve=reset_password,
        description="Mail a password-reset link (REST: POST /requestPasswordReset).",
    )
    mutation["confirmResetPassword"] = GraphQLField(
        b.payload("ConfirmResetPasswordPayload", ok),
        {"input": b.input("ConfirmResetPasswordInput", {"username": text, "password": text, "token": text})},
        resolve=confirm_reset_password,
        description="Set a new password with the token of the mailed reset link (the link's form does the same).",
    )
    mutation["sendVerificationEmail"] = GraphQLField(
        b.payload("SendVerificationEmailPayload", ok),
        {"input": b.input("SendVerificationEmailInput", {"email": text})},
        resolve=send_verification_email,
        description="Mail a new email-verification link (REST: POST /verificationEmailRequest).",
    )


# -- resolvers ------------------------------------------------------------------------------------------------------


async def _viewer(ctx: Context, token: str) -> dict[str, Any]:
    caller = await data.caller_for(ctx.backend, ctx.caller, token)
    user = await data.me(ctx.backend, caller)
    return {"sessionToken": token, "user": _tag(user)}


def _done(input: dict[str, Any], **out: Any) -> dict[str, Any]:
    return {**out, "clientMutationId": input.get("clientMutationId")}


async def resolve_viewer(_root: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    ctx: Context = info.context
    user = await data.me(ctx.backend, ctx.caller)  # 209 without a valid session, as /users/me
    return {"sessionToken": ctx.caller.session_token, "user": _tag(user)}


async def sign_up(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    body = ctx.built.translator.fields(input.get("fields"), USER, updating=False)
    saved = await data.sign_up(ctx.backend, ctx.caller, body)
    return _done(input, viewer=await _viewer(ctx, saved["sessionToken"]))


async def log_in_with(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    body = ctx.built.translator.fields(input.get("fields"), USER, updating=False)
    saved = await data.log_in_with(ctx.backend, ctx.caller, body, input["authData"])
    return _done(input, viewer=await _viewer(ctx, saved["sessionToken"]))


async def log_in(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    user = await data.log_in(ctx.backend, ctx.caller, input["username"], input["password"])
    token = user.pop("sessionToken")
    return _done(input, viewer={"sessionToken": token, "user": _tag(user)})


async def log_out(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    if not ctx.caller.session_token:
        raise ParseError(errors.INVALID_SESSION_TOKEN, "Invalid session token")
    await data.log_out(ctx.backend, ctx.caller)
    return _done(input, ok=True)


async def reset_password(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    await data.request_password_reset(ctx.backend, ctx.caller, input["email"])
    return _done(input, ok=True)


async def confirm_reset_password(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    if not input["username"]:
        raise ParseError(errors.USERNAME_MISSING, "you must provide a username")
    await data.confirm_password_reset(ctx.backend, input["username"], input["token"], input["password"])
    return _done(input, ok=True)


async def send_verification_email(_root: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    await data.request_verification_mail(ctx.backend, ctx.caller, input["email"])
    return _done(input, ok=True)
