"""Tables of the identity database (SQLAlchemy Core)."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

from kit.columns import timestamp_column as _ts

metadata = MetaData()



accounts = Table(
    "accounts", metadata,
    # Never deleted (disabled instead), so an identifier once allocated is never allocated again.
    Column("identifier", String(7), primary_key=True),
    Column("cofor_root", String(6), nullable=False),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("email", String(254), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("job_title", String(100), nullable=False),
    Column("language", String(2), nullable=False),
    Column("is_administrator", Boolean, nullable=False),
    Column("state", String(10), nullable=False),  # ACTIVE, BLOCKED, DISABLED
    Column("disabled_cause", String(30), nullable=False),  # ADMINISTRATOR, SUPPLIER_DEACTIVATED
    Column("lock_cause", String(30), nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    _ts("password_expires_at", True),  # temporary password: when it stops working
    _ts("password_changed_at", True),
    # Earlier user-chosen password hashes, newest first (the current one is not in it).
    Column("password_history", JSON, nullable=False),
    Column("reset_hash", Text, nullable=True),  # ASL self-service reset password, next to the current one
    _ts("reset_expires_at", True),
    Column("origin_access_request_id", String(36), nullable=True, unique=True),  # the ASL of accepted terms
    Column("created_by", String(7), nullable=False),
    _ts("created_at"), _ts("updated_at"), _ts("last_login_at", True), _ts("locked_at", True),
    # Until the holder chooses a password: the activation link's token (SHA-256, never the token) and its expiry.
    Column("activation_digest", LargeBinary(32), nullable=True, unique=True),
    _ts("activation_expires_at", True),
    # The browser-and-system/address pairs it logged in from in the last 90 days (digest → last use): the
    # new-device notice decides from the row the login reads anyway.
    Column("known_devices", JSON, nullable=False, default=dict),
    Index("ix_accounts_company", "cofor_root", "family_name", "given_name"),
    Index("ix_accounts_email", "email"),
)

sessions = Table(
    "sessions", metadata,
    Column("token_digest", LargeBinary(32), primary_key=True),  # SHA-256 of the token; never the token
    Column("identifier", String(7), nullable=False, index=True),
    Column("must_change_password", Boolean, nullable=False),
    _ts("created_at"), _ts("expires_at"), _ts("idle_expires_at"), _ts("revoked_at", True),
    # What the session still needs before it opens anything: "" nothing, VERIFY a factor, ENROL one.
    Column("second_factor_step", String(10), nullable=False, server_default=""),
    Column("amr", String(20), nullable=False, server_default="pwd"),  # how it was opened: "pwd", "pwd otp"...
    # What its holder sees of it on "My sessions" (domain/devices.py): a random name (never the token nor its
    # digest), where it opened from, its last activity (written with the idle expiry, at most once a minute).
    # A NULL user_agent: opened before sessions recorded their origin.
    Column("public_id", String(32), nullable=True),
    Column("browser", String(40), nullable=False, server_default=""),
    Column("operating_system", String(40), nullable=False, server_default=""),
    Column("user_agent", String(200), nullable=True),
    Column("client_address", String(100), nullable=False, server_default=""),
    _ts("last_active_at", True),
    Index("ix_sessions_public_id", "public_id", unique=True),
)

# One row per factor of an account (ARCHITECTURE §15), each with its own failure count. TOTP: the secret encrypted
# (adapters/factor_box.py), confirmed once a code was given, the last accepted step (a code is accepted once).
# RECOVERY_CODE: the failure count of the account's recovery codes (the codes are in recovery_codes).
second_factors = Table(
    "second_factors", metadata,
    Column("identifier", String(7), primary_key=True),
    Column("kind", String(20), primary_key=True),  # TOTP, RECOVERY_CODE, PASSKEY
    Column("secret_sealed", LargeBinary, nullable=True),
    _ts("confirmed_at", True),
    Column("failed_attempts", Integer, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    _ts("created_at"),
)

recovery_codes = Table(
    "recovery_codes", metadata,
    Column("identifier", String(7), primary_key=True),
    Column("digest", LargeBinary(32), primary_key=True),  # SHA-256 of the code (120 random bits); never the code
    _ts("used_at", True),
    _ts("created_at"),
)

# Passkeys (ARCHITECTURE §15): a WebAuthn credential's public key and signature counter (the private key stays on
# the holder's device). An account with at least one has a confirmed PASSKEY row in second_factors.
passkeys = Table(
    "passkeys", metadata,
    Column("credential_id", LargeBinary(1023), primary_key=True),
    Column("identifier", String(7), nullable=False, index=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("name", String(60), nullable=False),
    Column("user_handle", LargeBinary(64), nullable=False),
    _ts("created_at"), _ts("last_used_at", True),
)

# A ceremony under way: the digest of its challenge, what it is for, whose (empty for a passkey-only login).
passkey_challenges = Table(
    "passkey_challenges", metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("ceremony", String(10), nullable=False),
    Column("identifier", String(7), nullable=False),
    Column("user_handle", LargeBinary(64), nullable=False),  # offered to the authenticator (enrolment only)
    _ts("expires_at"), Index("ix_passkey_challenges_expires_at", "expires_at"),
)

companies = Table(
    "companies", metadata,
    # Local projection of cofor's events: the company gate of Login.
    Column("cofor_root", String(6), primary_key=True),
    Column("legal_name", String(200), nullable=False),
    Column("supplier_active", Boolean, nullable=False),
    Column("access_open", Boolean, nullable=False),
    Column("administrators_revision", BigInteger, nullable=False),
    _ts("updated_at"),
    # The last applied change of the supplier's status / of the access state: cofor's supplier revision (exact),
    # and the event time (the order of events from producers that sent no revision).
    Column("supplier_status_revision", BigInteger, nullable=True), Column("access_state_revision", BigInteger,
                                                                         nullable=True),
    _ts("supplier_status_at", True), _ts("access_state_at", True),
    # The ASL's policy: a second factor required of every user (ASLs always need one).
    Column("second_factor_required", Boolean, nullable=False, server_default=false()),
)

audit_events = Table(
    "audit_events", metadata,
    Column("id", String(36), primary_key=True),
    _ts("occurred_at"),
    Column("action", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("subject", String(7), nullable=False),
    Column("cofor_root", String(6), nullable=False),
    Column("client_address", String(100), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_audit_subject", "subject", "occurred_at"),
    Index("ix_audit_company", "cofor_root", "occurred_at"),
)

# OpenID Connect (ARCHITECTURE §14). Applications registered by operators; a client secret only as its digest.
oidc_clients = Table(
    "oidc_clients", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("auth_method", String(30), nullable=False),  # none, client_secret_basic, private_key_jwt
    Column("secret_digest", LargeBinary(32), nullable=True),  # SHA-256 of a 256-bit random secret
    Column("jwks", JSON, nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("post_logout_redirect_uris", JSON, nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("backchannel_logout_uri", String(500), nullable=False),
    _ts("created_at"), _ts("updated_at"), _ts("disabled_at", True),
)

# An authorization code, single use, a minute: what it was given for (the PKCE challenge, never the verifier).
oidc_codes = Table(
    "oidc_codes", metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("session_digest", LargeBinary(32), nullable=False),
    Column("redirect_uri", String(500), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("nonce", String(255), nullable=False),
    Column("code_challenge", String(43), nullable=False),
    Column("chain_id", String(36), nullable=True),  # the refresh chain its exchange started (ended on a replay)
    _ts("expires_at"), _ts("used_at", True),
    Index("ix_oidc_codes_expires_at", "expires_at"),
)

# Refresh tokens as digests: each use replaces the token by its successor in the same chain; a used token presented
# again ends the chain. Bound to the portal session (the SSO session) they came from.
oidc_refresh_tokens = Table(
    "oidc_refresh_tokens", metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("chain_id", String(36), nullable=False, index=True),
    Column("client_id", String(64), nullable=False),
    Column("session_digest", LargeBinary(32), nullable=False, index=True),
    Column("scope", String(200), nullable=False),
    _ts("created_at"), _ts("expires_at"), _ts("used_at", True), _ts("revoked_at", True),
    Index("ix_oidc_refresh_tokens_expires_at", "expires_at"),
)

# Signing keys: the private key sealed (FACTOR_SECRET_KEY), the public one as a JWK. The newest key whose
# active_from has come signs; every key until its expires_at is published, so tokens it signed stay verifiable.
oidc_signing_keys = Table(
    "oidc_signing_keys", metadata,
    Column("kid", String(64), primary_key=True),
    Column("alg", String(10), nullable=False),
    Column("private_sealed", LargeBinary, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    _ts("created_at"), _ts("active_from"), _ts("expires_at", True),
)

# The stable, opaque `sub` of an account (made at its first sign-in to an application).
oidc_subjects = Table(
    "oidc_subjects", metadata,
    Column("identifier", String(7), primary_key=True),
    Column("subject", String(36), nullable=False, unique=True),
)

# Which applications each portal session signed in to: their back-channel logout when the session ends.
oidc_session_clients = Table(
    "oidc_session_clients", metadata,
    Column("session_digest", LargeBinary(32), primary_key=True),
    Column("client_id", String(64), primary_key=True),
    Column("sid", String(32), nullable=False, index=True),
    Column("identifier", String(7), nullable=False),
    _ts("created_at"),
    _ts("tokens_after", True),  # access tokens issued before this are refused (a replay or a revocation ended them)
)

# Back-channel logouts owed to applications (OpenID Connect Back-Channel Logout 1.0), written in the transaction
# that ends the session and sent by a worker (adapters/backchannel.py), retried until the application answers.
# The logout token is signed when it is sent: none is stored.
oidc_logout_deliveries = Table(
    "oidc_logout_deliveries", metadata,
    Column("id", String(36), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("uri", String(500), nullable=False),
    Column("sid", String(32), nullable=False),
    Column("identifier", String(7), nullable=False),
    Column("attempts", Integer, nullable=False),
    _ts("created_at"), _ts("next_attempt_at"),
    Index("ix_oidc_logout_deliveries_next_attempt_at", "next_attempt_at"),
)

# The ids (jti) of the client assertions already used (private_key_jwt, RFC 7523 §3): each is good once.
oidc_assertions = Table(
    "oidc_assertions", metadata,
    Column("digest", LargeBinary(32), primary_key=True),  # SHA-256 of client id and jti
    _ts("expires_at"),
    Index("ix_oidc_assertions_expires_at", "expires_at"),
)
