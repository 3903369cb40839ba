"""Initial cofor schema: kit tables, presentations, suppliers, sites, access requests, acceptance links."""
import sqlalchemy as sa
from alembic import op

from kit.migrations import create_kit_tables, drop_kit_tables
from kit.migrations import timestamp_column as _ts

revision = "0001"
down_revision = None



def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "presentations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("duns", sa.String(9), nullable=False, unique=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("presenter_token_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
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
    )
    op.create_table(
        "suppliers",
        sa.Column("cofor_root", sa.String(6), primary_key=True),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("duns", sa.String(9), nullable=False, unique=True),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("presentation_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("head_office_site_code", sa.String(2), nullable=False),
        sa.Column("access_state", sa.String(30), nullable=False, index=True),
        sa.Column("suspension_cause", sa.String(30), nullable=False),
        sa.Column("access_request_id", sa.String(36), nullable=False),
        sa.Column("administrators", sa.JSON(), nullable=False),
        sa.Column("administrators_revision", sa.BigInteger(), nullable=False),
        _ts("created_at"), _ts("updated_at"),
    )
    op.create_table(
        "sites",
        sa.Column("cofor_root", sa.String(6), sa.ForeignKey("suppliers.cofor_root"), primary_key=True),
        sa.Column("site_code", sa.String(2), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_head_office", sa.Boolean(), nullable=False),
        sa.Column("address_lines", sa.JSON(), nullable=False),
        sa.Column("postal_code", sa.String(20), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("address_country", sa.String(2), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "access_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("cofor_root", sa.String(6), sa.ForeignKey("suppliers.cofor_root"), nullable=False, index=True),
        sa.Column("signatory", sa.JSON(), nullable=False),
        sa.Column("administrator", sa.JSON(), nullable=False),
        sa.Column("terms_version", sa.String(20), nullable=False),
        _ts("created_at"), _ts("accepted_at", True),
    )
    op.create_table(
        "acceptance_links",
        sa.Column("token_digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("access_request_id", sa.String(36), sa.ForeignKey("access_requests.id"), nullable=False,
                  index=True),
        sa.Column("cofor_root", sa.String(6), nullable=False),
        _ts("issued_at"), _ts("expires_at"), _ts("voided_at", True), _ts("used_at", True),
    )


def downgrade() -> None:
    for table in ("acceptance_links", "access_requests", "sites", "suppliers", "presentations"):
        op.drop_table(table)
    drop_kit_tables()
