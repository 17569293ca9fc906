"""factor_returns: the six daily equity factor returns of SPEC §5.3.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:50:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('factor_returns',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('factor', sa.Text(), nullable=False),
    sa.Column('daily_return', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'factor'),
    schema='sigmasight'
    )


def downgrade() -> None:
    op.drop_table('factor_returns', schema='sigmasight')
