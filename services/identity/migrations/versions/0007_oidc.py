"""OpenID Connect provider (ARCHITECTURE §14): registered applications, authorization codes and refresh tokens (as
digests), signing keys (the private half sealed), each account's opaque subject, and which applications each portal
session signed in to, and the back-channel logouts owed to them."""
import sqlalchemy as sa
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0007"
down_revision = "0006"

TABLES = ("oidc_assertions", "oidc_logout_deliveries", "oidc_session_clients", "oidc_subjects", "oidc_signing_keys",
          "oidc_refresh_tokens", "oidc_codes", "oidc_clients")


def upgrade() -> None:
    # OpenID Connect (ARCHITECTURE §14). Applications registered by operators; a client secret only as its digest.
    op.create_table(
        "oidc_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("auth_method", sa.String(30), nullable=False),  # none, client_secret_basic, private_key_jwt
        sa.Column("secret_digest", sa.LargeBinary(32), nullable=True),  # SHA-256 of a 256-bit random secret
        sa.Column("jwks", sa.JSON, nullable=False),
        sa.Column("redirect_uris", sa.JSON, nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON, nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("backchannel_logout_uri", sa.String(500), nullable=False),
        _ts("created_at"), _ts("updated_at"), _ts("disabled_at", True),
    )

    # An authorization code, single use, a minute: what it was given for (the PKCE challenge, never the verifier).
    op.create_table(
        "oidc_codes",
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("session_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("nonce", sa.String(255), nullable=False),
        sa.Column("code_challenge", sa.String(43), nullable=False),
        sa.Column("chain_id", sa.String(36), nullable=True),
        _ts("expires_at"), _ts("used_at", True),
    )

    # Refresh tokens as digests: each use replaces the token by its successor in the same chain; a used token
    # presented again ends the chain. Bound to the portal session (the SSO session) they came from.
    op.create_table(
        "oidc_refresh_tokens",
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("chain_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("session_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        _ts("created_at"), _ts("expires_at"), _ts("used_at", True), _ts("revoked_at", True),
    )

    # Signing keys: the private key sealed (FACTOR_SECRET_KEY), the public one as a JWK. The newest key whose
    # active_from has come signs; every key until its expires_at is published, so tokens it signed stay verifiable.
    op.create_table(
        "oidc_signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(10), nullable=False),
        sa.Column("private_sealed", sa.LargeBinary, nullable=False),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        _ts("created_at"), _ts("active_from"), _ts("expires_at", True),
    )

    # The stable, opaque `sub` of an account (made at its first sign-in to an application).
    op.create_table(
        "oidc_subjects",
        sa.Column("identifier", sa.String(7), primary_key=True),
        sa.Column("subject", sa.String(36), nullable=False, unique=True),
    )

    # Which applications each portal session signed in to: their back-channel logout when the session ends.
    op.create_table(
        "oidc_session_clients",
        sa.Column("session_digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("sid", sa.String(32), nullable=False),
        sa.Column("identifier", sa.String(7), nullable=False),
        _ts("created_at"),
        _ts("tokens_after", True),
    )
    op.create_table(
        "oidc_logout_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("uri", sa.String(500), nullable=False),
        sa.Column("sid", sa.String(32), nullable=False),
        sa.Column("identifier", sa.String(7), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _ts("created_at"), _ts("next_attempt_at"),
    )
    op.create_table(
        "oidc_assertions",
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        _ts("expires_at"),
    )
    op.create_index("ix_oidc_assertions_expires_at", "oidc_assertions", ["expires_at"])
    op.create_index("ix_oidc_logout_deliveries_next_attempt_at", "oidc_logout_deliveries", ["next_attempt_at"])
    op.create_index("ix_oidc_codes_expires_at", "oidc_codes", ["expires_at"])
    op.create_index("ix_oidc_refresh_tokens_chain_id", "oidc_refresh_tokens", ["chain_id"])
    op.create_index("ix_oidc_refresh_tokens_expires_at", "oidc_refresh_tokens", ["expires_at"])
    op.create_index("ix_oidc_refresh_tokens_session_digest", "oidc_refresh_tokens", ["session_digest"])
    op.create_index("ix_oidc_session_clients_sid", "oidc_session_clients", ["sid"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
