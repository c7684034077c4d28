"""Counting what a filtered admin list holds, without counting millions of rows.

An exact COUNT(*) over a filter visits every matching row: at 10 million audit events an
unfiltered (or a broad) count takes seconds, on every page view. Like most admin UIs, the
pages and the API count up to COUNT_CAP matching rows and then say "10,000+"; the items of
a page never depend on the count, and the pager offers "Next" while a full page came back.
"""

from sqlalchemy import func, literal

from ..extensions import db

COUNT_CAP = 10_000


def capped_count(statement, cap=None):
    """(total, exact): the number of rows `statement` selects when it is at most `cap`
    (COUNT_CAP by default; exact=True), else (cap, False). The database stops after cap + 1 rows."""
    cap = COUNT_CAP if cap is None else cap
    limited = statement.with_only_columns(literal(1), maintain_column_froms=True).order_by(None).limit(cap + 1).subquery()
    counted = db.session.execute(db.select(func.count()).select_from(limited)).scalar_one()
    return (counted, True) if counted <= cap else (cap, False)
