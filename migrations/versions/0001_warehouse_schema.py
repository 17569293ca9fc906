"""Warehouse schema: every table of SPEC §4 in schema ``sigmasight``.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 07:53:29.266312

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.execute("CREATE SCHEMA IF NOT EXISTS sigmasight")
    op.create_table('correlation_summaries',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('n_positions', sa.Integer(), nullable=False),
    sa.Column('avg_abs_correlation', sa.Float(), nullable=True),
    sa.Column('effective_bets', sa.Float(), nullable=True),
    sa.Column('clusters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id'),
    schema='sigmasight'
    )
    op.create_table('data_quality_issues',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('asset', sa.Text(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=True),
    sa.Column('position_id', sa.UUID(), nullable=True),
    sa.Column('symbol', sa.Text(), nullable=True),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    schema='sigmasight'
    )
    op.create_index('ix_data_quality_issues_date_asset', 'data_quality_issues', ['date', 'asset'], unique=False, schema='sigmasight')
    op.create_table('factor_correlations',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('factor_a', sa.Text(), nullable=False),
    sa.Column('factor_b', sa.Text(), nullable=False),
    sa.Column('correlation', sa.Float(), nullable=False),
    sa.Column('covariance', sa.Float(), nullable=False),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'factor_a', 'factor_b'),
    schema='sigmasight'
    )
    op.create_table('market_prices',
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('open', sa.Float(), nullable=True),
    sa.Column('high', sa.Float(), nullable=True),
    sa.Column('low', sa.Float(), nullable=True),
    sa.Column('close', sa.Float(), nullable=False),
    sa.Column('adj_close', sa.Float(), nullable=False),
    sa.Column('volume', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('symbol', 'date'),
    schema='sigmasight'
    )
    op.create_index('ix_market_prices_date', 'market_prices', ['date'], unique=False, schema='sigmasight')
    op.create_table('market_risk_scenarios',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('scenario_type', sa.Text(), nullable=False),
    sa.Column('shock', sa.Float(), nullable=False),
    sa.Column('pnl', sa.Float(), nullable=False),
    sa.Column('pnl_pct', sa.Float(), nullable=True),
    sa.Column('option_pnl', sa.Float(), nullable=False),
    sa.Column('flags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'scenario'),
    schema='sigmasight'
    )
    op.create_table('option_quotes',
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('underlying', sa.Text(), nullable=False),
    sa.Column('bid', sa.Float(), nullable=True),
    sa.Column('ask', sa.Float(), nullable=True),
    sa.Column('last', sa.Float(), nullable=True),
    sa.Column('implied_vol', sa.Float(), nullable=True),
    sa.Column('open_interest', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('symbol', 'date'),
    schema='sigmasight'
    )
    op.create_index('ix_option_quotes_date', 'option_quotes', ['date'], unique=False, schema='sigmasight')
    op.create_table('portfolio_exposures',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('long_exposure', sa.Float(), nullable=False),
    sa.Column('short_exposure', sa.Float(), nullable=False),
    sa.Column('gross_exposure', sa.Float(), nullable=False),
    sa.Column('net_exposure', sa.Float(), nullable=False),
    sa.Column('long_market_value', sa.Float(), nullable=False),
    sa.Column('short_market_value', sa.Float(), nullable=False),
    sa.Column('net_market_value', sa.Float(), nullable=False),
    sa.Column('long_count', sa.Integer(), nullable=False),
    sa.Column('short_count', sa.Integer(), nullable=False),
    sa.Column('option_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id'),
    schema='sigmasight'
    )
    op.create_table('portfolio_factor_exposures',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('factor', sa.Text(), nullable=False),
    sa.Column('beta', sa.Float(), nullable=True),
    sa.Column('dollar_exposure', sa.Float(), nullable=True),
    sa.Column('coverage', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'factor'),
    schema='sigmasight'
    )
    op.create_table('portfolio_snapshots',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('total_value', sa.Float(), nullable=False),
    sa.Column('long_value', sa.Float(), nullable=False),
    sa.Column('short_value', sa.Float(), nullable=False),
    sa.Column('gross_exposure', sa.Float(), nullable=False),
    sa.Column('net_exposure', sa.Float(), nullable=False),
    sa.Column('daily_pnl', sa.Float(), nullable=False),
    sa.Column('daily_return', sa.Float(), nullable=True),
    sa.Column('cumulative_pnl', sa.Float(), nullable=True),
    sa.Column('dollar_delta', sa.Float(), nullable=False),
    sa.Column('dollar_gamma_1pct', sa.Float(), nullable=False),
    sa.Column('dollar_theta', sa.Float(), nullable=False),
    sa.Column('dollar_vega', sa.Float(), nullable=False),
    sa.Column('dollar_rho', sa.Float(), nullable=False),
    sa.Column('position_count', sa.Integer(), nullable=False),
    sa.Column('data_source', sa.Text(), nullable=False),
    sa.Column('flags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id'),
    schema='sigmasight'
    )
    op.create_table('portfolios',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('owner_email', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    schema='sigmasight'
    )
    op.create_table('position_correlations',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('symbol_a', sa.Text(), nullable=False),
    sa.Column('symbol_b', sa.Text(), nullable=False),
    sa.Column('correlation', sa.Float(), nullable=False),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'symbol_a', 'symbol_b'),
    schema='sigmasight'
    )
    op.create_table('position_factor_exposures',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('position_id', sa.UUID(), nullable=False),
    sa.Column('factor', sa.Text(), nullable=False),
    sa.Column('beta', sa.Float(), nullable=True),
    sa.Column('std_err', sa.Float(), nullable=True),
    sa.Column('t_stat', sa.Float(), nullable=True),
    sa.Column('r_squared', sa.Float(), nullable=True),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'position_id', 'factor'),
    schema='sigmasight'
    )
    op.create_table('position_greeks',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('position_id', sa.UUID(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('underlying_price', sa.Float(), nullable=False),
    sa.Column('option_price', sa.Float(), nullable=False),
    sa.Column('price_source', sa.Text(), nullable=False),
    sa.Column('implied_vol', sa.Float(), nullable=True),
    sa.Column('vol_source', sa.Text(), nullable=True),
    sa.Column('years_to_expiry', sa.Float(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('delta', sa.Float(), nullable=False),
    sa.Column('gamma', sa.Float(), nullable=False),
    sa.Column('theta', sa.Float(), nullable=False),
    sa.Column('vega', sa.Float(), nullable=False),
    sa.Column('rho', sa.Float(), nullable=False),
    sa.Column('position_delta', sa.Float(), nullable=False),
    sa.Column('position_gamma', sa.Float(), nullable=False),
    sa.Column('position_theta', sa.Float(), nullable=False),
    sa.Column('position_vega', sa.Float(), nullable=False),
    sa.Column('position_rho', sa.Float(), nullable=False),
    sa.Column('dollar_delta', sa.Float(), nullable=False),
    sa.Column('dollar_gamma_1pct', sa.Float(), nullable=False),
    sa.Column('flags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.PrimaryKeyConstraint('date', 'position_id'),
    schema='sigmasight'
    )
    op.create_table('position_interest_rate_betas',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('position_id', sa.UUID(), nullable=False),
    sa.Column('ir_beta', sa.Float(), nullable=True),
    sa.Column('std_err', sa.Float(), nullable=True),
    sa.Column('r_squared', sa.Float(), nullable=True),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'position_id'),
    schema='sigmasight'
    )
    op.create_table('position_values',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('position_id', sa.UUID(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('price', sa.Float(), nullable=False),
    sa.Column('price_source', sa.Text(), nullable=False),
    sa.Column('price_date', sa.Date(), nullable=False),
    sa.Column('underlying_price', sa.Float(), nullable=True),
    sa.Column('market_value', sa.Float(), nullable=False),
    sa.Column('exposure', sa.Float(), nullable=False),
    sa.Column('notional', sa.Float(), nullable=False),
    sa.Column('cost_basis', sa.Float(), nullable=False),
    sa.Column('unrealized_pnl', sa.Float(), nullable=False),
    sa.Column('flags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.PrimaryKeyConstraint('date', 'position_id'),
    schema='sigmasight'
    )
    op.create_index('ix_position_values_portfolio', 'position_values', ['portfolio_id', 'date'], unique=False, schema='sigmasight')
    op.create_table('reports',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('format', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'format'),
    schema='sigmasight'
    )
    op.create_table('securities',
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('asset_class', sa.Text(), nullable=True),
    sa.Column('sector', sa.Text(), nullable=True),
    sa.Column('industry', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('symbol'),
    schema='sigmasight'
    )
    op.create_table('stress_test_results',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), nullable=False),
    sa.Column('direct_pnl', sa.Float(), nullable=False),
    sa.Column('correlated_pnl', sa.Float(), nullable=False),
    sa.Column('direct_pct', sa.Float(), nullable=True),
    sa.Column('correlated_pct', sa.Float(), nullable=True),
    sa.Column('factor_impacts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('flags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'scenario'),
    schema='sigmasight'
    )
    op.create_table('tag_exposures',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('tag', sa.Text(), nullable=False),
    sa.Column('gross_exposure', sa.Float(), nullable=False),
    sa.Column('net_exposure', sa.Float(), nullable=False),
    sa.Column('position_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'tag'),
    schema='sigmasight'
    )
    op.create_table('treasury_yields',
    sa.Column('series_id', sa.Text(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('series_id', 'date'),
    schema='sigmasight'
    )
    op.create_index('ix_treasury_yields_date', 'treasury_yields', ['date'], unique=False, schema='sigmasight')
    op.create_table('positions',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('position_type', sa.String(length=5), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('multiplier', sa.Integer(), nullable=False),
    sa.Column('entry_price', sa.Float(), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('exit_price', sa.Float(), nullable=True),
    sa.Column('underlying_symbol', sa.Text(), nullable=True),
    sa.Column('strike', sa.Float(), nullable=True),
    sa.Column('expiration', sa.Date(), nullable=True),
    sa.Column('option_type', sa.String(length=1), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['sigmasight.portfolios.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('portfolio_id', 'symbol', 'entry_date', 'quantity', 'entry_price', name='uq_positions_identity'),
    schema='sigmasight'
    )
    op.create_table('position_tags',
    sa.Column('position_id', sa.UUID(), nullable=False),
    sa.Column('tag', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['sigmasight.positions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('position_id', 'tag'),
    schema='sigmasight'
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('position_tags', schema='sigmasight')
    op.drop_table('positions', schema='sigmasight')
    op.drop_index('ix_treasury_yields_date', table_name='treasury_yields', schema='sigmasight')
    op.drop_table('treasury_yields', schema='sigmasight')
    op.drop_table('tag_exposures', schema='sigmasight')
    op.drop_table('stress_test_results', schema='sigmasight')
    op.drop_table('securities', schema='sigmasight')
    op.drop_table('reports', schema='sigmasight')
    op.drop_index('ix_position_values_portfolio', table_name='position_values', schema='sigmasight')
    op.drop_table('position_values', schema='sigmasight')
    op.drop_table('position_interest_rate_betas', schema='sigmasight')
    op.drop_table('position_greeks', schema='sigmasight')
    op.drop_table('position_factor_exposures', schema='sigmasight')
    op.drop_table('position_correlations', schema='sigmasight')
    op.drop_table('portfolios', schema='sigmasight')
    op.drop_table('portfolio_snapshots', schema='sigmasight')
    op.drop_table('portfolio_factor_exposures', schema='sigmasight')
    op.drop_table('portfolio_exposures', schema='sigmasight')
    op.drop_index('ix_option_quotes_date', table_name='option_quotes', schema='sigmasight')
    op.drop_table('option_quotes', schema='sigmasight')
    op.drop_table('market_risk_scenarios', schema='sigmasight')
    op.drop_index('ix_market_prices_date', table_name='market_prices', schema='sigmasight')
    op.drop_table('market_prices', schema='sigmasight')
    op.drop_table('factor_correlations', schema='sigmasight')
    op.drop_index('ix_data_quality_issues_date_asset', table_name='data_quality_issues', schema='sigmasight')
    op.drop_table('data_quality_issues', schema='sigmasight')
    op.drop_table('correlation_summaries', schema='sigmasight')
