"""The demo's sales database: a small SQLite file of orders for the demo datasource to read.

Deterministic (a seeded generator), so that every ``make run`` on every machine shows the same rows, and
written to a temporary name then moved into place, so that a reader never opens half a file.
"""

from __future__ import annotations

import os
import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

REGIONS = ("North", "South", "East", "West")
PRODUCTS = (
    ("Espresso machine", 249.00),
    ("Grinder", 129.50),
    ("Milk frother", 39.90),
    ("Kettle", 54.00),
    ("Scale", 24.75),
    ("Beans, 1 kg", 18.20),
)
REPRESENTATIVES = ("Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Radia")
FIRST_DAY = date(2026, 1, 1)

# What the demo dataset runs: one row per order line, newest first.
QUERY = (
    "SELECT id, ordered_on, region, representative, product, quantity, unit_price, "
    "quantity * unit_price AS amount, paid FROM orders WHERE region LIKE :region ORDER BY ordered_on DESC, id"
)


def sales_database_write(path: Path, *, orders: int = 3000, seed: int = 2026) -> int:
    """Write the demo's orders to the SQLite file at ``path`` (replacing it) and return how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    generator = random.Random(seed)  # noqa: S311 -- demo figures, not secrets: the same rows on every machine
    connection = sqlite3.connect(staging)
    try:
        connection.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, ordered_on DATE NOT NULL, region TEXT NOT NULL, "
            "representative TEXT NOT NULL, product TEXT NOT NULL, quantity INTEGER NOT NULL, "
            "unit_price NUMERIC NOT NULL, paid BOOLEAN NOT NULL)"
        )
        rows = []
        for number in range(1, orders + 1):
            product, price = generator.choice(PRODUCTS)
            rows.append(
                (
                    number,
                    (FIRST_DAY + timedelta(days=generator.randrange(334))).isoformat(),
                    generator.choice(REGIONS),
                    generator.choice(REPRESENTATIVES),
                    product,
                    generator.randint(1, 12),
                    price,
                    generator.random() < 0.85,
                )
            )
        connection.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        connection.commit()
    finally:
        connection.close()
    os.replace(staging, path)
    return orders
