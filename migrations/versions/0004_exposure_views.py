"""sector_exposures, portfolio_concentration, limit_checks (SPEC §7.9).

Revision ID: 0004
Revises: 0006
Create Date: 2026-12-02 06:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sector_exposures',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', postgresql.UUID(as_uuid=True), nullable=False),
    sa.Column('sector', sa.Text(), nullable=False),
    sa.Column('gross_exposure', sa.Float(), nullable=False),
    sa.Column('net_exposure', sa.Float(), nullable=False),
    sa.Column('long_exposure', sa.Float(), nullable=False),
    sa.Column('short_exposure', sa.Float(), nullable=False),
    sa.Column('pct_of_gross', sa.Float(), nullable=True),
    sa.Column('position_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'sector'),
    schema='sigmasight'
    )
    op.create_table('portfolio_concentration',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', postgresql.UUID(as_uuid=True), nullable=False),
    sa.Column('n_underlyings', sa.Integer(), nullable=False),
    sa.Column('hhi', sa.Float(), nullable=True),
    sa.Column('effective_n', sa.Float(), nullable=True),
    sa.Column('top1_pct', sa.Float(), nullable=True),
    sa.Column('top5_pct', sa.Float(), nullable=True),
    sa.Column('top10_pct', sa.Float(), nullable=True),
    sa.Column('largest_underlying', sa.Text(), nullable=True),
    sa.Column('beta_adjusted_net_exposure', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id'),
    schema='sigmasight'
    )
    op.create_table('limit_checks',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', postgresql.UUID(as_uuid=True), nullable=False),
    sa.Column('limit_name', sa.Text(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'limit_name'),
    schema='sigmasight'
    )


def downgrade() -> None:
    op.drop_table('limit_checks', schema='sigmasight')
    op.drop_table('portfolio_concentration', schema='sigmasight')
    op.drop_table('sector_exposures', schema='sigmasight')
