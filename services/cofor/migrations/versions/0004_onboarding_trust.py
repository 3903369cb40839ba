"""Onboarding trust (a migration, not a wipe).

- Company files: a D-U-N-S is no longer unique among files; only the confirmed, live file claims it
  (``duns_claim``, unique, NULL otherwise). Files that exist already count as confirmed at their creation (their
  presenters had the token from the old API); each keeps its claim unless it is REJECTED. New column for the
  legal representative.
- Suppliers: a signatory of record (none for existing suppliers: nothing they hold was ever checked), the expiry
  of a waiting request and the state it falls back to.
- Access requests: a status. A request waiting for its terms today had its link sent to whoever the requester
  named, so it is put under purchasing's review and its open links are voided; accepted requests are ACCEPTED,
  any other EXPIRED.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from kit.migrations import timestamp_column as _ts

revision = "0004"
down_revision = "0003"

_COPIED = ("id", "duns", "email", "language", "legal_name", "presenter_token_digest", "state",
           "national_registration_number", "tax_number", "address_lines", "postal_code", "city", "address_country",
           "country_code", "legal_existence_proof_ref", "rejection_reason", "cofor_root", "created_at", "updated_at",
           "submitted_at", "decided_at")
REVIEW_DAYS = 30


def _rebuild_presentations() -> None:
    op.create_table(
        "presentations_v4",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("duns", sa.String(9), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("presenter_token_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("national_registration_number", sa.String(100), nullable=False),
        sa.Column("tax_number", sa.String(100), nullable=False),
        sa.Column("address_lines", sa.JSON(), nullable=False),
        sa.Column("postal_code", sa.String(20), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("address_country", sa.String(2), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("legal_existence_proof_ref", sa.String(300), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("cofor_root", sa.String(6), nullable=False),
        _ts("created_at"), _ts("updated_at"), _ts("submitted_at", True), _ts("decided_at", True),
        _ts("confirmed_at", True),
        sa.Column("duns_claim", sa.String(9), nullable=True),
        sa.Column("representative", sa.JSON(), nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False, server_default=""),
        sa.UniqueConstraint("duns_claim", name="uq_presentations_duns_claim"),
    )
    columns = ", ".join(_COPIED)
    op.execute(f"INSERT INTO presentations_v4 ({columns}, confirmed_at, duns_claim, representative) "
               f"SELECT {columns}, created_at, CASE WHEN state IN ('DRAFT', 'SUBMITTED', 'REFERENCED') "
               f"THEN duns END, '{{}}' FROM presentations")
    op.drop_table("presentations")
    op.rename_table("presentations_v4", "presentations")
    op.create_index("ix_presentations_state", "presentations", ["state"])
    op.create_index("ix_presentations_duns", "presentations", ["duns"])


def upgrade() -> None:
    _rebuild_presentations()
    with op.batch_alter_table("suppliers") as batch:
        batch.add_column(sa.Column("signatory", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch.add_column(_ts("signatory_updated_at", True))
        batch.add_column(_ts("terms_expires_at", True))
        batch.add_column(_ts("review_expires_at", True))
        batch.add_column(sa.Column("state_before_request", sa.String(30), nullable=False,
                                   server_default="NOT_REQUESTED"))
    with op.batch_alter_table("access_requests") as batch:
        batch.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="EXPIRED"))
        batch.add_column(sa.Column("requested_from", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("decision_reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("reviewed_by", sa.String(200), nullable=False, server_default=""))
        batch.add_column(_ts("reviewed_at", True))
        batch.add_column(_ts("expires_at", True))
    op.create_index("ix_access_requests_waiting", "access_requests", ["cofor_root", "status"])

    now = dt.datetime.now(dt.UTC)
    review_until = now + dt.timedelta(days=REVIEW_DAYS)
    suppliers = sa.table("suppliers", sa.column("access_state", sa.String), sa.column("access_request_id", sa.String),
                         sa.column("review_expires_at", sa.DateTime(timezone=True)))
    requests = sa.table("access_requests", sa.column("id", sa.String), sa.column("status", sa.String),
                        sa.column("accepted_at", sa.DateTime(timezone=True)),
                        sa.column("expires_at", sa.DateTime(timezone=True)))
    links = sa.table("acceptance_links", sa.column("access_request_id", sa.String),
                     sa.column("used_at", sa.DateTime(timezone=True)),
                     sa.column("voided_at", sa.DateTime(timezone=True)))
    pending = sa.select(suppliers.c.access_request_id).where(suppliers.c.access_state == "TERMS_PENDING")
    op.execute(requests.update().where(requests.c.accepted_at.is_not(None)).values(status="ACCEPTED"))
    op.execute(requests.update().where(requests.c.id.in_(pending)).values(status="UNDER_REVIEW",
                                                                         expires_at=review_until))
    op.execute(links.update().where(links.c.access_request_id.in_(pending), links.c.used_at.is_(None),
                                    links.c.voided_at.is_(None)).values(voided_at=now))
    op.execute(suppliers.update().where(suppliers.c.access_state == "TERMS_PENDING").values(
        access_state="UNDER_REVIEW", review_expires_at=review_until))


def downgrade() -> None:
    raise NotImplementedError("0004 changes what the data means; restore a backup to go back")
