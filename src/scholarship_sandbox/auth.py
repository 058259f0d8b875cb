"""Passwords, tokens and who is calling.

Passwords: salted scrypt, tuned to ~15 ms so the suite can log in often. Access tokens:
HS256 JWTs (sub, role, iat, exp, jti, fam). Refresh tokens: opaque, stored hashed, single
use, grouped in a family that is revoked as a whole when a spent one comes back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from .problems import Problem
from .storage import Storage

_SCRYPT = {"n": 2**13, "r": 8, "p": 1}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


# A fixed hash to verify against when the email is unknown, so that both failures cost
# the same time and the response time does not reveal which emails exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_login(stored: str | None, password: str) -> bool:
    return verify_password(password, stored if stored else _DUMMY_HASH) and stored is not None


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    family: str
    via: str  # "bearer" | "cookie"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class TokenService:
    def __init__(self, storage: Storage, secret: str, *, access_ttl: int, refresh_ttl: int):
        self.storage, self.secret = storage, secret
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl

    def access_token(self, user_id: str, role: str, family: str, ttl: int,
                     csrf: str | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"sub": user_id, "role": role, "iat": now, "exp": now + ttl,
                                  "jti": secrets.token_hex(8), "fam": family}
        if csrf is not None:
            claims["csrf"] = _sha256(csrf)
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def decode(self, token: str, *, verify_signature: bool = True,
               verify_exp: bool = True) -> dict[str, Any]:
        """The claims of a valid token. The two flags exist for the faults
        no-signature-check and no-token-expiry; each turns off its own check only."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.secret, algorithms=["HS256"],
                options={"require": ["sub", "role", "iat", "exp", "jti", "fam"],
                         "verify_signature": verify_signature, "verify_exp": verify_exp})
        except jwt.ExpiredSignatureError:
            raise Problem("token-expired", "The access token has expired") from None
        except jwt.InvalidTokenError:
            raise Problem("invalid-token", "The access token is not valid") from None
        return claims

    def new_family(self, conn: Any, user_id: str) -> str:
        family = "fam_" + secrets.token_hex(8)
        conn.execute("INSERT INTO token_families (id, user_id) VALUES (?, ?)", (family, user_id))
        return family

    def refresh_token(self, conn: Any, user_id: str, family: str) -> str:
        token = "rt_" + secrets.token_urlsafe(32)
        conn.execute("INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_ts)"
                     " VALUES (?,?,?,?)", (_sha256(token), family, user_id,
                                          time.time() + self.refresh_ttl))
        return token

    def family_revoked(self, family: str) -> bool:
        row = self.storage.one("SELECT revoked FROM token_families WHERE id = ?", (family,))
        return row is None or bool(row["revoked"])

    def rotate(self, presented: str, *, allow_reuse: bool) -> tuple[str, str, TokenPair]:
        """Spend `presented`, return (user_id, role, new pair). A spent token revokes its family."""
        refresh: str | None = None  # stays None when the presented token was already spent
        with self.storage.write() as conn:
            row = conn.execute(
                "SELECT r.family_id, r.user_id, r.spent, r.expires_ts, f.revoked, u.role"
                " FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id"
                " JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?",
                (_sha256(presented),)).fetchone()
            if row is None or row["expires_ts"] < time.time():
                raise Problem("invalid-token", "The refresh token is not valid")
            if row["spent"] and not allow_reuse:
                # Someone holds a copy: revoke the whole family, the newest tokens included.
                conn.execute("UPDATE token_families SET revoked = 1 WHERE id = ?",
                             (row["family_id"],))
            elif row["revoked"]:
                raise Problem("invalid-token", "The refresh token was revoked")
            else:
                conn.execute("UPDATE refresh_tokens SET spent = 1 WHERE token_hash = ?",
                             (_sha256(presented),))
                refresh = self.refresh_token(conn, row["user_id"], row["family_id"])
        if refresh is None:
            # Raised once the revocation is committed: inside the transaction it would roll back.
            raise Problem("refresh-token-reused",
                          "This refresh token was already used; its session is revoked")
        access = self.access_token(row["user_id"], row["role"], row["family_id"], self.access_ttl)
        return row["user_id"], row["role"], TokenPair(access, refresh, self.access_ttl)


def csrf_matches(claims: dict[str, Any], header: str | None, cookie: str | None) -> bool:
    if not header or not cookie or not hmac.compare_digest(header, cookie):
        return False
    return hmac.compare_digest(_sha256(header), str(claims.get("csrf", "")))


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None
