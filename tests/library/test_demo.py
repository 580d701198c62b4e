"""The demo's documents: each format a library indexes, readable as what it claims to be, the same bytes every run."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import docx
import pypdf

from library.demo import DOCUMENTS, demo_documents_write


def test_it_writes_every_document_and_nothing_else(tmp_path: Path):
    # when
    written = demo_documents_write(tmp_path / "demo")

    # then: two of each format in three folders, no temporary file left behind
    assert written == list(DOCUMENTS)
    assert sorted(path.rpartition(".")[2] for path in written) == sorted(
        ["txt", "md", "csv", "html", "pdf", "docx"] * 2
    )
    on_disk = sorted(str(path.relative_to(tmp_path / "demo")) for path in (tmp_path / "demo").rglob("*"))
    assert on_disk == sorted([*written, "guides", "policies", "reports"])


def test_the_same_bytes_on_every_run(tmp_path: Path):
    # given: a second run a second later (the PDFs' fonts and the Word files' zip entries would carry the time)
    demo_documents_write(tmp_path / "first")
    time.sleep(1.1)

    # when
    written = demo_documents_write(tmp_path / "second")

    # then
    for name in written:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name


def test_each_document_reads_as_its_format(tmp_path: Path):
    folder = tmp_path / "demo"
    demo_documents_write(folder)

    guide = pypdf.PdfReader(folder / "guides/product-guide-2026.pdf")
    assert len(guide.pages) == 2
    assert "Espresso machine EM-200 249.00" in guide.pages[0].extract_text()
    assert guide.metadata is not None and guide.metadata["/CreationDate"] == "D:20260401090000Z"
    letter = pypdf.PdfReader(folder / "reports/quarterly-letter-2026-q1.pdf")
    assert "Letter to our customers" in letter.pages[0].extract_text()

    review = docx.Document(str(folder / "reports/supplier-review-2026-q1.docx"))
    assert [paragraph.text for paragraph in review.paragraphs][:3] == [
        "Supplier review, first quarter of 2026",
        "How Northwind Coffee Supply's suppliers delivered between January and March 2026.",
        "Beans",
    ]
    with zipfile.ZipFile(io.BytesIO((folder / "policies/staff-handbook-returns.docx").read_bytes())) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}

    summary = (folder / "reports/sales-summary-2026-q1.csv").read_text().splitlines()
    assert summary[:2] == ["region,product,units,revenue_gbp", 'North,"Espresso machine",41,10209.00']
    assert len(summary) == 1 + 4 * 6
    assert (folder / "policies/returns-policy.md").read_text().startswith("# Returns policy\n")
    assert "<h1>Two-year warranty</h1>" in (folder / "policies/warranty.html").read_text()
