"""corporate_actions (SPEC §8) and position_values.effective_quantity / split_factor.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:25:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('corporate_actions',
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('ex_date', sa.Date(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('ratio', sa.Float(), nullable=True),
    sa.Column('cash_amount', sa.Float(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('symbol', 'ex_date', 'action'),
    schema='sigmasight'
    )
    op.create_index('ix_corporate_actions_ex_date', 'corporate_actions', ['ex_date'],
                    unique=False, schema='sigmasight')
    op.add_column('position_values', sa.Column('effective_quantity', sa.Float(), nullable=True),
                  schema='sigmasight')
    op.add_column('position_values', sa.Column('split_factor', sa.Float(), nullable=True),
                  schema='sigmasight')


def downgrade() -> None:
    op.drop_column('position_values', 'split_factor', schema='sigmasight')
    op.drop_column('position_values', 'effective_quantity', schema='sigmasight')
    op.drop_index('ix_corporate_actions_ex_date', table_name='corporate_actions',
                  schema='sigmasight')
    op.drop_table('corporate_actions', schema='sigmasight')
