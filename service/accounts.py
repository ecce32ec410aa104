"""Accounts: signing in and out, refresh tokens, password changes and user management.

Each function takes the database it runs on (`db`: the `Database`, or the `Unit` of a keyed request)
and plain values; it returns the answer's shape, or raises the error of a refusal (service/errors.py).
Statements are in sql/auth.sql and sql/users.sql. Rate limits that need the request stay with the
resources (service/resources/auth.py); `change_password` is handed the guess limit bound to its client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import shapes, usernames
from .auth import UserCache
from .db import REPEATABLE_READ, Database
from .errors import Unauthorized, ValidationFailed
from .passwords import Passwords, password_problem
from .refusals import refuse
from .tokens import TokenIssuer, digest, new_family, new_refresh_token

ROLES = ("ADMIN", "OPERATOR")
USER_FIELDS = shapes.User.__struct_fields__
BAD_CREDENTIALS = ("INVALID_CREDENTIALS", "Unknown user, wrong password or disabled account.")
# PasswordGuessLimit.verify bound to the request: (user_id, check) -> check(), unless the user or the
# client has used up its failed attempts (429); a failed check is counted
GuessLimit = Callable[[int, Callable[[], bool]], bool]


def public_user(row: dict) -> dict:
    return {"id": row["id"], "username": row["username"], "role": row["role"], "is_active": row["is_active"]}


def token_answer(tokens: TokenIssuer, user: dict, family: str, refresh_token: str) -> dict:
    """An access token and the refresh token of login `family`, with the user they are for."""
    return {
        "access_token": tokens.access_token(user["id"], user["role"], family),
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": tokens.access_seconds,
        "user": public_user(user),
    }


# --- signing in and out -------------------------------------------------------------------------------


def login(db: Database, passwords: Passwords, tokens: TokenIssuer, username: str, password: str) -> dict:
    """Tokens of a new login (a refresh-token family) for an active user's right password; 401 otherwise.
    A hash made with older argon2 parameters is upgraded in the same transaction."""
    user = db.query("user_for_login", {"username_key": usernames.key(username)})
    # verify spends a full hash even for an unknown user
    if not passwords.verify(user and user["password_hash"], password) or not user["is_active"]:
        raise Unauthorized(*BAD_CREDENTIALS)
    family = new_family()
    refresh_token, refresh_digest = new_refresh_token()
    issue = {
        "user_id": user["id"],
        "family_id": family,
        "token_hash": refresh_digest,
        "days": tokens.refresh_days,
    }
    steps = [("issue_refresh_token", issue)]
    if passwords.needs_rehash(user["password_hash"]):
        rehashed = {"id": user["id"], "password_hash": passwords.hash(password)}
        steps.insert(0, ("update_password_hash", rehashed))
    db.transaction(*steps)
    return token_answer(tokens, user, family, refresh_token)


def refresh(db: Database, tokens: TokenIssuer, presented: str, strict: bool) -> dict:
    """New tokens in the login of the `presented` refresh token (single-use when `strict`)."""
    refresh_token, refresh_digest = new_refresh_token()
    params = {
        "token_hash": digest(presented),
        "new_token_hash": refresh_digest,
        "strict": strict,
        "days": tokens.refresh_days,
    }
    user = db.query("refresh", params)
    refuse(user["outcome"])
    return token_answer(tokens, user, user["family_id"], refresh_token)


def logout(db: Database, users: UserCache, user_id: int, refresh_token: str | None) -> int:
    """Ends the login of `refresh_token` (the user's own), or every login of the user without one; how
    many refresh tokens were revoked."""
    if refresh_token is not None:
        revoked = db.query("revoke_refresh_family", {"token_hash": digest(refresh_token), "user_id": user_id})
    else:
        revoked = db.query("revoke_user_refresh_tokens", {"user_id": user_id, "keep_family": None})
    users.forget(user_id)  # other workers see the ended login within CACHE_SECONDS
    return revoked["revoked"]


def change_password(
    db: Database,
    passwords: Passwords,
    users: UserCache,
    guesses: GuessLimit,
    user_id: int,
    current_password: str,
    new_password: Any,
    keep_family: str | None,
) -> None:
    """A new password for a user who knows the current one; the user's logins other than `keep_family`
    end. Wrong current passwords count against `guesses`."""
    problem = password_problem(new_password)
    if problem:
        raise ValidationFailed({"new_password": problem})
    row = db.query("password_hash_of", {"id": user_id})
    stored = row and row["password_hash"]
    if not guesses(user_id, lambda: passwords.verify(stored, current_password)):
        raise ValidationFailed({"current_password": "is not the current password"})
    params = {"id": user_id, "password_hash": passwords.hash(new_password), "keep_family": keep_family}
    db.query("change_password", params)
    users.forget(user_id)


# --- user management ----------------------------------------------------------------------------------


def list_users(db: Database, page: dict[str, Any]) -> tuple[list[dict], int]:
    """(a page of users by id, how many users there are), read in one snapshot."""
    rows, total = db.transaction(("list_users", page), ("count_users", None), isolation=REPEATABLE_READ)
    return rows, total["total"]


def create_user(db: Database, passwords: Passwords, username: str, password: str, role: str) -> dict:
    """A new active user; 409 when the username (compared by its folded key) is taken."""
    problem = password_problem(password)
    if problem:
        raise ValidationFailed({"password": problem})
    try:
        username = usernames.normalised(username)
    except ValueError as problem:
        raise ValidationFailed({"username": str(problem)}) from None
    params = {
        "username": username,
        "username_key": usernames.key(username),
        "role": role,
        "password_hash": passwords.hash(password),
    }
    user = db.query("create_user", params)
    if user is None:  # the statement's answer to a taken username key
        refuse("duplicate_username", username=username)
    return user


def update_user(
    db: Database,
    passwords: Passwords,
    users: UserCache,
    user_id: int,
    *,
    role: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> dict:
    """Changes what is given (None: unchanged); the last active admin stays one. Deactivation and a new
    password end the user's logins."""
    if password is not None and (problem := password_problem(password)):
        raise ValidationFailed({"password": problem})
    params = {
        "id": user_id,
        "role": role,
        "is_active": is_active,
        "password_hash": passwords.hash(password) if password is not None else None,
    }
    result = db.write("update_user", params)
    refuse(result["outcome"], subject="user", id=user_id)
    users.forget(user_id)
    return {field: result[field] for field in USER_FIELDS}
