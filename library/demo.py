"""The demo's documents: a few small files of each format a library indexes, about the demo coffee shop.

Plain text, Markdown, CSV, HTML, PDF (a little HTML rendered by WeasyPrint, fetching nothing) and Word
(python-docx): policies, product guides, a quarterly letter and sales figures, in three folders. The same
bytes on every run where the format allows it: PDF and Word files carry fixed dates (their metadata, the
fonts' ``head`` tables, the zip entries' times), so a second sync sees them unchanged. Each file is written
to a temporary name and then moved into place, so that a reader never opens half a file.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The demo library (seed_demo's, owned by the demo user): a local folder of these documents, indexed for search.
DEMO_FOLDER = "demo-documents"
DEMO_LIBRARY = {
    "name": "Demo documents",
    "slug": "demo-documents",
    "description": "The demo shop's policies, product guides, a quarterly letter and sales figures, in six formats.",
    "type": "local",
    "settings": {"path": DEMO_FOLDER},
    "embedded": True,
}
# Every generated document says it was made at this moment (2026-04-01 09:00:00 UTC).
WRITTEN_AT = datetime(2026, 4, 1, 9, 0, 0, tzinfo=UTC)
SHOP = "Northwind Coffee Supply"
# The PDFs' creation and modification dates, which WeasyPrint reads from the HTML's metadata.
PDF_DATES = (
    f'<meta name="dcterms.created" content="{WRITTEN_AT:%Y-%m-%dT%H:%M:%SZ}">'
    f'<meta name="dcterms.modified" content="{WRITTEN_AT:%Y-%m-%dT%H:%M:%SZ}">'
)

PRODUCTS = (
    ("Espresso machine", "EM-200", 249.00),
    ("Grinder", "GR-50", 129.50),
    ("Milk frother", "MF-10", 39.90),
    ("Kettle", "KT-12", 54.00),
    ("Scale", "SC-01", 24.75),
    ("Beans, 1 kg", "BN-1K", 18.20),
)
# Quarter-one units per region for each product, in PRODUCTS' order: fixed figures, not a random draw.
Q1_UNITS = {
    "North": (41, 63, 88, 70, 95, 412),
    "South": (37, 58, 92, 66, 81, 389),
    "East": (45, 71, 79, 74, 102, 455),
    "West": (52, 69, 101, 83, 97, 478),
}

SHIPPING = f"""{SHOP}: shipping

Orders placed before 14:00 (UK time) on a working day leave the warehouse the same day.
Standard delivery takes two to four working days and is free on orders over 60 GBP.
Express delivery arrives the next working day for 7.50 GBP.
Espresso machines ship in their original box with a second carton around it;
please keep both until the returns period has ended.
"""

STORE_HOURS = f"""{SHOP}: shop hours and contacts

Monday to Friday   08:00 - 18:00
Saturday           09:00 - 16:00
Sunday             closed

Customer service: help@northwind-coffee.example, +44 20 7946 0000.
Repairs and warranty claims: repairs@northwind-coffee.example.
"""

RETURNS = f"""# Returns policy

{SHOP} accepts returns of any product within **30 days** of delivery.

## What can be returned

- Unused products in their original packaging: a full refund.
- Opened machines (espresso machines, grinders, frothers, kettles): a refund less a 10% restocking fee,
  unless the product is faulty.
- Coffee beans can be returned only if the bag is unopened.

## How to return

1. Write to help@northwind-coffee.example with your order number.
2. Pack the product in its original box; we send a prepaid label.
3. The refund reaches your card within five working days of the parcel's arrival.

Faulty products are covered by the two-year warranty instead; see the warranty page.
"""

QUICK_START = """# Espresso machine EM-200: quick start

1. Rinse the water tank and fill it with fresh, cold water up to the MAX line.
2. Switch the machine on; the ready light stops blinking after about 40 seconds.
3. Grind 18 g of beans fine (setting 4 to 6 on the GR-50), fill the portafilter and tamp it level.
4. Lock the portafilter in and press the single-shot button: about 36 g of espresso in 25 to 30 seconds.

## Steam

Purge the steam wand for two seconds, then froth the milk to 60-65 °C. Wipe the wand at once.

## Descaling

Descale every two months, or when the descale light comes on, with the supplied descaling solution.
"""

GRINDER_CARE = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Caring for your GR-50 grinder</title></head>
<body>
<h1>Caring for your GR-50 grinder</h1>
<p>A clean grinder grinds evenly. {SHOP} recommends the following routine.</p>
<h2>Every week</h2>
<ul>
  <li>Empty the hopper and brush the burrs with the supplied brush.</li>
  <li>Wipe the outside with a dry cloth; never put parts in the dishwasher.</li>
</ul>
<h2>Every month</h2>
<ul>
  <li>Run a measure of grinder-cleaning tablets through the burrs.</li>
  <li>Check the burrs for wear: replace them after about 500 kg of beans.</li>
</ul>
</body>
</html>
"""

WARRANTY = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Warranty</title></head>
<body>
<h1>Two-year warranty</h1>
<p>Every machine sold by {SHOP} carries a two-year warranty against faults in materials and workmanship.</p>
<table>
  <tr><th>Product</th><th>Warranty</th></tr>
  <tr><td>Espresso machine EM-200</td><td>2 years, parts and labour</td></tr>
  <tr><td>Grinder GR-50</td><td>2 years; burrs 6 months</td></tr>
  <tr><td>Milk frother MF-10, kettle KT-12, scale SC-01</td><td>2 years</td></tr>
</table>
<p>Scale build-up and wear from use are not faults. Write to repairs@northwind-coffee.example.</p>
</body>
</html>
"""

QUARTERLY_LETTER = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"><title>Letter to our customers, first quarter of 2026</title>
<meta name="author" content="{SHOP}">
{PDF_DATES}
<style>body {{ font-family: serif; font-size: 11pt; }} h1 {{ font-size: 16pt; }}</style>
</head>
<body>
<h1>Letter to our customers: the first quarter of 2026</h1>
<p>Dear customers,</p>
<p>The first quarter was our busiest yet: the East and West regions ordered more beans than ever, and the new
EM-200 espresso machine became our best seller by revenue.</p>
<p>In the second quarter we open a repair workshop in Leeds, so that warranty repairs take days rather than
weeks, and we begin selling beans from two new farms in Colombia and Ethiopia.</p>
<p>Thank you for your orders and your letters.</p>
<p>The team at {SHOP}</p>
</body>
</html>
"""

PRODUCT_GUIDE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"><title>Product guide 2026</title>
<meta name="author" content="{SHOP}">
{PDF_DATES}
<style>body {{ font-family: sans-serif; font-size: 10pt; }} td, th {{ padding: 2pt 6pt; text-align: left; }}</style>
</head>
<body>
<h1>Product guide 2026</h1>
<p>Everything {SHOP} sells, with its code and price.</p>
<table>
<tr><th>Product</th><th>Code</th><th>Price (GBP)</th></tr>
{"".join(f"<tr><td>{name}</td><td>{code}</td><td>{price:.2f}</td></tr>" for name, code, price in PRODUCTS)}
</table>
<h2>Choosing a grinder</h2>
<p>Pair the EM-200 with the GR-50: its 40 settings reach the fine grind espresso needs.</p>
<div style="page-break-before: always"></div>
<h2>Looking after your machines</h2>
<p>Descale espresso machines and kettles every two months; brush grinder burrs weekly.</p>
</body>
</html>
"""


def _price_list() -> str:
    lines = ["code,product,unit_price_gbp"]
    lines += [f'{code},"{name}",{price:.2f}' for name, code, price in PRODUCTS]
    return "\n".join(lines) + "\n"


def _sales_summary() -> str:
    lines = ["region,product,units,revenue_gbp"]
    for region, units in Q1_UNITS.items():
        for (name, _, price), count in zip(PRODUCTS, units, strict=True):
            lines.append(f'{region},"{name}",{count},{count * price:.2f}')
    return "\n".join(lines) + "\n"


def refusing_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses every URL: the demo's PDFs fetch nothing, from anywhere.

    The same as the report attachments' (``jobs.drivers.reports``), which the library app may not import.
    """
    from weasyprint import urls  # type: ignore[import-untyped]  # WeasyPrint ships no type information

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"The demo documents fetch nothing: {url[:200]}")

    base = getattr(urls, "URLFetcher", None)  # a class from WeasyPrint 66, a function before
    if base is None:
        return refuse

    class RefusingFetcher(base):  # type: ignore[misc, valid-type]
        def fetch(self, url: str, headers: Any = None) -> Any:
            return refuse(url)

    return RefusingFetcher()


@contextmanager
def _fixed_font_clock() -> Iterator[None]:
    """fontTools stamps each font subset it writes with the time unless ``SOURCE_DATE_EPOCH`` says otherwise."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(WRITTEN_AT.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def _pdf(html: str) -> Callable[[], bytes]:
    def render() -> bytes:
        import weasyprint

        with _fixed_font_clock():
            return bytes(weasyprint.HTML(string=html, url_fetcher=refusing_fetcher()).write_pdf())

    return render


def _fixed_zip_times(data: bytes) -> bytes:
    """``data`` (a zip) again with every entry dated 1980-01-01, so the same content gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, source.read(info.filename))
    return output.getvalue()


def _docx(title: str, paragraphs: list[tuple[str, str]]) -> Callable[[], bytes]:
    """A Word document of ``(style, text)`` paragraphs (style ``heading`` or ``text``) with fixed metadata."""

    def render() -> bytes:
        import docx

        document = docx.Document()
        properties = document.core_properties
        properties.title = title
        properties.author = properties.last_modified_by = SHOP
        # Naive UTC: python-docx writes these as W3CDTF with a "Z" itself.
        properties.created = properties.modified = properties.last_printed = WRITTEN_AT.replace(tzinfo=None)
        properties.revision = 1
        document.add_heading(title, level=1)
        for style, text in paragraphs:
            if style == "heading":
                document.add_heading(text, level=2)
            else:
                document.add_paragraph(text)
        output = io.BytesIO()
        document.save(output)
        return _fixed_zip_times(output.getvalue())

    return render


SUPPLIER_REVIEW = _docx(
    "Supplier review, first quarter of 2026",
    [
        ("text", f"How {SHOP}'s suppliers delivered between January and March 2026."),
        ("heading", "Beans"),
        ("text", "Both roasters delivered on time; one late pallet in February was credited in full."),
        ("heading", "Machines"),
        ("text", "EM-200 machines arrived in two batches; three units were returned faulty out of 175 sold."),
        ("heading", "Next quarter"),
        ("text", "We add a second carton supplier to shorten lead times for espresso machine packaging."),
    ],
)
HANDBOOK = _docx(
    "Staff handbook: handling returns",
    [
        ("text", "What the shop staff do when a parcel comes back."),
        ("heading", "On arrival"),
        ("text", "Check the order number against the returns list and photograph the parcel before opening it."),
        ("heading", "Opened machines"),
        ("text", "Test the machine; deduct the 10% restocking fee unless it is faulty, then refund the rest."),
        ("heading", "Faulty products"),
        ("text", "Send them to the repair workshop with the customer's description of the fault."),
    ],
)


def _text(content: str) -> Callable[[], bytes]:
    return lambda: content.encode()


# Every document by its path in the library, and what makes its bytes.
DOCUMENTS: dict[str, Callable[[], bytes]] = {
    "policies/shipping.txt": _text(SHIPPING),
    "policies/returns-policy.md": _text(RETURNS),
    "policies/warranty.html": _text(WARRANTY),
    "policies/staff-handbook-returns.docx": HANDBOOK,
    "guides/shop-hours.txt": _text(STORE_HOURS),
    "guides/espresso-machine-quick-start.md": _text(QUICK_START),
    "guides/grinder-care.html": _text(GRINDER_CARE),
    "guides/product-guide-2026.pdf": _pdf(PRODUCT_GUIDE),
    "reports/price-list.csv": _text(_price_list()),
    "reports/sales-summary-2026-q1.csv": _text(_sales_summary()),
    "reports/quarterly-letter-2026-q1.pdf": _pdf(QUARTERLY_LETTER),
    "reports/supplier-review-2026-q1.docx": SUPPLIER_REVIEW,
}


def demo_documents_write(folder: Path) -> list[str]:
    """Write the demo's documents under ``folder`` (replacing them) and return their paths, relative to it."""
    written = []
    for name, render in DOCUMENTS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        staging.write_bytes(render())
        os.replace(staging, path)
        written.append(name)
    return written
