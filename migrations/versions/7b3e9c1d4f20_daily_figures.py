"""daily figures (the worker copies the day's counts from Redis)

Revision ID: 7b3e9c1d4f20
Revises: 7e4b2a9c1d35
Create Date: 2026-12-02 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b3e9c1d4f20'
down_revision = '7e4b2a9c1d35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('daily_figures',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'name')
    )


def downgrade():
    op.drop_table('daily_figures')
