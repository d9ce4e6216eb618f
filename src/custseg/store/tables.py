"""The tables of the store (SQLAlchemy Core) and their limits."""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA_VERSION = 1
#: Longest id (event, customer, order, product) accepted.
MAX_ID_LENGTH = 200

metadata = sa.MetaData()
ID = sa.String(MAX_ID_LENGTH)

store_info = sa.Table(
    "custseg_store_info", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
runs = sa.Table(
    "custseg_runs", metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("label", sa.Text),
    sa.Column("source", sa.Text),
    sa.Column("input_sha256", sa.String(64)),
    sa.Column("algorithm", sa.String(32)),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("n_customers", sa.Integer, nullable=False),
    sa.Column("id_column", sa.Text),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("feature_std", sa.JSON, nullable=False),
    sa.Column("segments", sa.JSON, nullable=False),
    sa.Column("vanished", sa.JSON, nullable=False),
    sa.Column("previous_run_id", sa.Integer),
    sa.Column("model_sha256", sa.String(64)),
)
assignments = sa.Table(
    "custseg_assignments", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("custseg_runs.run_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("segment", sa.Integer, nullable=False),
)
sa.Index("ix_custseg_assignments_customer", assignments.c.customer_id)
customers = sa.Table(
    "custseg_customers", metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("first_purchase", sa.Date),
    sa.Column("last_purchase", sa.Date),
    sa.Column("monetary", sa.Float, nullable=False, default=0.0),
    sa.Column("n_lines", sa.BigInteger, nullable=False, default=0),
    sa.Column("n_cancel", sa.BigInteger, nullable=False, default=0),
    sa.Column("frequency", sa.BigInteger, nullable=False, default=0),
    sa.Column("n_days", sa.BigInteger, nullable=False, default=0),
    sa.Column("gap_sum", sa.BigInteger, nullable=False, default=0),
    sa.Column("gap_sumsq", sa.BigInteger, nullable=False, default=0),
    sa.Column("distinct_products", sa.BigInteger, nullable=False, default=0),
    sa.Column("n_events", sa.BigInteger, nullable=False, default=0),
    sa.Column("segment", sa.Integer),
    sa.Column("segment_name", sa.Text),
    sa.Column("updated_at", sa.DateTime),
)
sa.Index("ix_custseg_customers_segment", customers.c.segment)
customer_orders = sa.Table(
    "custseg_customer_orders", metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("order_key", sa.String(MAX_ID_LENGTH + 4), primary_key=True),
)
customer_days = sa.Table(
    "custseg_customer_days", metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
)
customer_products = sa.Table(
    "custseg_customer_products", metadata,
    sa.Column("customer_id", ID, primary_key=True),
    sa.Column("product", ID, primary_key=True),
)
events = sa.Table(
    "custseg_events", metadata,
    sa.Column("event_id", ID, primary_key=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("ts", sa.DateTime, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("amount", sa.Float),
    sa.Column("quantity", sa.Float),
    sa.Column("unit_price", sa.Float),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("order_id", ID),
    sa.Column("product_id", ID),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("segment_before", sa.Integer),
    sa.Column("segment_after", sa.Integer),
    sa.Column("segment_name", sa.Text),
)
sa.Index("ix_custseg_events_customer", events.c.customer_id)
sa.Index("ix_custseg_events_day", events.c.day)
segment_changes = sa.Table(
    "custseg_segment_changes", metadata,
    sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", ID, nullable=False),
    sa.Column("event_id", ID),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("day", sa.Date),
    sa.Column("segment_before", sa.Integer),
    sa.Column("segment", sa.Integer, nullable=False),
    sa.Column("segment_name", sa.Text),
)
sa.Index("ix_custseg_segment_changes_customer", segment_changes.c.customer_id)
model_state = sa.Table(
    "custseg_model_state", metadata,
    sa.Column("model_sha256", sa.String(64), primary_key=True),
    sa.Column("centres", sa.JSON, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("batches", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

AGG_COLUMNS = ("first_purchase", "last_purchase", "monetary", "n_lines", "n_cancel",
                "frequency", "n_days", "gap_sum", "gap_sumsq", "distinct_products",
                "n_events")
