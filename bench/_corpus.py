"""Synthetic documents for the search benchmark: varied business prose in txt, md, csv, html, pdf and docx.

Prose comes from templates over topic word lists (eight topics: logistics, finance, support, engineering,
people, legal, sales, facilities), seeded, so the same seed and count give the same files. Sentences run
from 6 to about 35 words and paragraphs from 1 to 9 sentences, and document lengths are log-normal
(median about 600 words, from 40 to 9,000), so chunking packs paragraphs, splits long ones at sentences
and leaves short tails, as on real files. A tenth of the txt files are cp1252 and a tenth UTF-8 with a
BOM (accented names in them), for the encoding detection. PDFs are rendered by WeasyPrint from the
same HTML as the html files get (about 0.5 s a document on a quiet core), so the corpus is written once
into a cache folder and reused by later runs of the same size and seed.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import random
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

NAMES = ["Amira", "Bruno", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiroshi", "Inès", "Jonas", "Kofi",
         "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Søren", "Tomás", "Uma", "Viktor"]  # fmt: skip
PLACES = ["the northern warehouse", "the Lyon office", "the main depot", "the Rotterdam hub", "head office",
          "the eastern region", "the Dublin branch", "the pilot site", "the customer portal",
          "the night shift"]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip
CONNECTIVES = ["However", "Meanwhile", "As a result", "In practice", "For now", "In the meantime", "Even so",
               "On balance", "By contrast", "Since then"]  # fmt: skip

# Per topic: nouns "singular/plural", verbs "base/past", adjectives; an indented line continues the one above.
_WORDS = """
[logistics]
nouns: shipment/shipments, pallet/pallets, carrier/carriers, route/routes, delivery/deliveries,
  container/containers, forklift/forklifts, manifest/manifests, loading bay/loading bays, customs form/customs
  forms
verbs: delay/delayed, reroute/rerouted, dispatch/dispatched, load/loaded, inspect/inspected,
  consolidate/consolidated, track/tracked
adjectives: late, refrigerated, oversized, damaged, urgent, express, cross-border
[finance]
nouns: invoice/invoices, budget/budgets, forecast/forecasts, ledger/ledgers, payment/payments, audit/audits,
  margin/margins, expense claim/expense claims, exchange rate/exchange rates, accrual/accruals
verbs: approve/approved, reconcile/reconciled, overrun/overran, reject/rejected, settle/settled,
  revise/revised, book/booked
adjectives: quarterly, overdue, provisional, audited, unpaid, consolidated, annual
[support]
nouns: ticket/tickets, customer/customers, refund/refunds, complaint/complaints, callback/callbacks, warranty
  claim/warranty claims, escalation/escalations, survey/surveys, chat session/chat sessions
verbs: resolve/resolved, escalate/escalated, answer/answered, refund/refunded, reopen/reopened,
  triage/triaged, close/closed
adjectives: angry, loyal, repeat, unresolved, priority, first-time, satisfied
[engineering]
nouns: release/releases, deployment/deployments, database/databases, incident/incidents, test suite/test
  suites, service/services, migration/migrations, dashboard/dashboards, certificate/certificates
verbs: deploy/deployed, roll back/rolled back, monitor/monitored, patch/patched, benchmark/benchmarked,
  refactor/refactored, restart/restarted
adjectives: flaky, legacy, critical, encrypted, slow, redundant, experimental
[people]
nouns: interview/interviews, holiday request/holiday requests, contract/contracts, training course/training
  courses, appraisal/appraisals, new starter/new starters, rota/rotas, pension scheme/pension schemes
verbs: hire/hired, schedule/scheduled, review/reviewed, train/trained, promote/promoted, onboard/onboarded,
  cancel/cancelled
adjectives: part-time, remote, seasonal, senior, mandatory, flexible, temporary
[legal]
nouns: clause/clauses, agreement/agreements, licence/licences, dispute/disputes, liability/liabilities, data
  request/data requests, trademark/trademarks, supplier contract/supplier contracts
verbs: sign/signed, terminate/terminated, renew/renewed, amend/amended, breach/breached, negotiate/negotiated,
  register/registered
adjectives: binding, confidential, exclusive, expired, disputed, standard, statutory
[sales]
nouns: lead/leads, quote/quotes, discount/discounts, campaign/campaigns, order/orders, price list/price lists,
  territory/territories, trade fair/trade fairs, subscription/subscriptions
verbs: close/closed, quote/quoted, upsell/upsold, launch/launched, renew/renewed, discount/discounted,
  forecast/forecast
adjectives: wholesale, recurring, promotional, regional, lost, strategic, seasonal
[facilities]
nouns: boiler/boilers, fire drill/fire drills, parking space/parking spaces, meeting room/meeting rooms,
  lease/leases, badge reader/badge readers, cleaning contract/cleaning contracts, roof/roofs,
  generator/generators
verbs: repair/repaired, replace/replaced, book/booked, service/serviced, inspect/inspected,
  relocate/relocated, upgrade/upgraded
adjectives: broken, shared, refurbished, noisy, energy-efficient, leased, outdated
"""


def _topics(text: str) -> dict[str, dict[str, list[Any]]]:
    topics: dict[str, dict[str, list[Any]]] = {}
    for block in text.split("[")[1:]:
        name, body = block.split("]", 1)
        fields = dict(line.split(": ", 1) for line in body.replace("\n  ", " ").strip().splitlines())
        topics[name] = {
            "nouns": [tuple(pair.split("/")) for pair in fields["nouns"].split(", ")],
            "verbs": [tuple(pair.split("/")) for pair in fields["verbs"].split(", ")],
            "adjectives": fields["adjectives"].split(", "),
        }
    return topics


TOPICS = _topics(_WORDS)
FORMAT_MIX = [("txt", 25), ("md", 20), ("html", 20), ("csv", 10), ("pdf", 12), ("docx", 13)]


class Prose:
    """Sentences, paragraphs and titles about one topic, from one seeded generator."""

    def __init__(self, rng: random.Random, topic: str) -> None:
        self.rng, self.topic, self.words = rng, topic, TOPICS[topic]

    def _noun(self, plural: bool = False) -> str:
        return self.rng.choice(self.words["nouns"])[1 if plural else 0]

    def _verb(self, past: bool = True) -> str:
        return self.rng.choice(self.words["verbs"])[1 if past else 0]

    def _adj(self) -> str:
        return self.rng.choice(self.words["adjectives"])

    def sentence(self) -> str:
        r = self.rng
        n, year = r.randint(2, 480), r.randint(2019, 2027)
        forms: list[Callable[[], str]] = [
            lambda: f"The {self._adj()} {self._noun()} was {self._verb()} at {r.choice(PLACES)}.",
            lambda: (
                f"{r.choice(NAMES)} {self._verb()} {n} {self._adj()} {self._noun(True)} in {r.choice(MONTHS)} "
                f"{year}, {r.choice(['more', 'fewer'])} than in the previous quarter."
            ),
            lambda: (
                f"Because the {self._noun()} was {self._adj()}, the team {self._verb()} the {self._noun()} and "
                f"{self._verb()} every {self._adj()} {self._noun()} before {r.choice(MONTHS)}."
            ),
            lambda: (
                f"{r.choice(CONNECTIVES)}, {n} {self._noun(True)} still need someone to {self._verb(False)} "
                f"them, and {r.choice(NAMES)} asked whether the {self._adj()} {self._noun(True)} at "
                f"{r.choice(PLACES)} could wait until {r.choice(MONTHS)}."
            ),
            lambda: f"Who should {self._verb(False)} the {self._adj()} {self._noun()} when {r.choice(NAMES)} is away?",
            lambda: (
                f"According to {r.choice(NAMES)}, {r.randint(3, 97)}% of {self._noun(True)} were "
                f"{self._verb()} within {r.randint(1, 30)} days, against a target of {r.randint(50, 99)}%."
            ),
            lambda: (
                f"The {self._noun()} for {r.choice(PLACES)} costs {r.randint(120, 98000):,} euros a year, "
                f"which includes the {self._adj()} {self._noun(True)}, the {self._noun(True)} and the "
                f"{self._adj()} {self._noun()} that {r.choice(NAMES)} {self._verb()} last {r.choice(MONTHS)}."
            ),
            lambda: f"Nobody {self._verb()} the {self._noun()}.",
        ]
        return r.choice(forms)()

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.choice([1, 2, 3, 3, 4, 4, 5, 5, 6, 7, 9])))

    def title(self) -> str:
        return f"{self._adj().capitalize()} {self._noun(True)}: {self.rng.choice(PLACES)}, {self.rng.choice(MONTHS)}"

    def paragraphs(self, words: int) -> list[str]:
        out: list[str] = []
        count = 0
        while count < words:
            out.append(self.paragraph())
            count += len(out[-1].split())
        return out


def _sections(prose: Prose, words: int) -> list[tuple[str, list[str]]]:
    """Headed sections of about ``words`` words altogether."""
    paragraphs = prose.paragraphs(words)
    sections, rng = [], prose.rng
    while paragraphs:
        take = rng.randint(1, 5)
        sections.append((prose.title(), paragraphs[:take]))
        paragraphs = paragraphs[take:]
    return sections


def _html(title: str, sections: list[tuple[str, list[str]]], rng: random.Random) -> str:
    body = [f"<h1>{title}</h1>", "<nav><a href='#'>Home</a> | <a href='#'>Archive</a></nav>"]
    for heading, paragraphs in sections:
        body.append(f"<h2>{heading}</h2>")
        for paragraph in paragraphs:
            if rng.random() < 0.15:
                items = "".join(f"<li>{sentence.strip()}.</li>" for sentence in paragraph.split(". ") if sentence)
                body.append(f"<ul>{items}</ul>")
            else:
                body.append(f"<p>{paragraph}</p>")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body { font-family: sans-serif; margin: 2cm } h2 { color: #335 }</style>"
        "<script>window.analytics = { track: function () { return 'not text'; } };</script></head>"
        f"<body>{''.join(body)}<footer>Internal document, do not forward.</footer></body></html>"
    )


def document(index: int, seed: int) -> tuple[str, bytes]:
    """The ``index``-th document: its path in the library and its bytes."""
    rng = random.Random(f"{seed}-{index}")
    topic = rng.choice(sorted(TOPICS))
    prose = Prose(rng, topic)
    fmt = rng.choices([f for f, _ in FORMAT_MIX], weights=[w for _, w in FORMAT_MIX])[0]
    words = int(min(9000, max(40, rng.lognormvariate(math.log(600), 0.8))))
    title = prose.title()
    path = f"{topic}/{index // 100:03d}/doc-{index:05d}.{fmt}"
    if fmt == "txt":
        lines = [title, ""]
        for paragraph in prose.paragraphs(words):  # wrapped like an email or a README
            lines += [*textwrap.wrap(paragraph, 78), ""] if rng.random() < 0.5 else [paragraph, ""]
        text = "\n".join(lines)
        roll = rng.random()
        if roll < 0.1:
            return path, text.encode("cp1252", errors="replace")
        if roll < 0.2:
            return path, text.encode("utf-8-sig")
        return path, text.encode()
    if fmt == "md":
        parts = [f"# {title}"]
        for heading, paragraphs in _sections(prose, words):
            parts.append(f"## {heading}")
            for paragraph in paragraphs:
                if rng.random() < 0.15:
                    parts.append("\n".join(f"- {s.strip()}" for s in paragraph.split(". ") if s))
                else:
                    parts.append(paragraph)
        return path, "\n\n".join(parts).encode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=rng.choice([",", ";"]))
        writer.writerow(["id", "date", "site", "item", "amount", "status", "comment"])
        for row in range(max(5, words // 18)):
            writer.writerow([
                f"{index}-{row}", f"{rng.randint(2019, 2027)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.choice(PLACES), prose._noun(), f"{rng.uniform(5, 50000):.2f}",
                rng.choice(["open", "closed", "pending", "disputed"]), prose.sentence(),
            ])  # fmt: skip
        return path, out.getvalue().encode()
    sections = _sections(prose, words)
    if fmt == "html":
        return path, _html(title, sections, rng).encode()
    if fmt == "pdf":
        import weasyprint  # type: ignore[import-untyped]

        for name in ("fontTools", "weasyprint"):  # a line per font table subset and per layout step otherwise
            logging.getLogger(name).setLevel(logging.WARNING)

        return path, bytes(weasyprint.HTML(string=_html(title, sections, rng)).write_pdf())
    import docx

    word_document = docx.Document()
    word_document.add_heading(title, level=1)
    for heading, paragraphs in sections:
        word_document.add_heading(heading, level=2)
        for paragraph in paragraphs:
            word_document.add_paragraph(paragraph)
        if rng.random() < 0.2:
            table = word_document.add_table(rows=1, cols=3)
            for cell, label in zip(table.rows[0].cells, ["Item", "Owner", "Note"], strict=True):
                cell.text = label
            for _ in range(rng.randint(2, 8)):
                cells = table.add_row().cells
                cells[0].text, cells[1].text, cells[2].text = prose._noun(), rng.choice(NAMES), prose.sentence()
    buffer = io.BytesIO()
    word_document.save(buffer)
    return path, buffer.getvalue()


def corpus_write(folder: Path, documents: int, seed: int) -> dict[str, int]:
    """Write ``documents`` files under ``folder`` unless a complete set is already there; files by format."""
    marker = folder.parent / f"{folder.name}.complete"  # beside the folder, so the library does not list it
    counts: dict[str, int] = {}
    if marker.exists():
        for line in marker.read_text().splitlines():
            fmt, count = line.split()
            counts[fmt] = int(count)
        return counts
    for index in range(documents):
        path, data = document(index, seed)
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        counts[path.rsplit(".", 1)[1]] = counts.get(path.rsplit(".", 1)[1], 0) + 1
    marker.write_text("".join(f"{fmt} {count}\n" for fmt, count in sorted(counts.items())))
    return counts


def queries(count: int, seed: int) -> list[str]:
    """``count`` search phrases in the corpus's words: a sentence cut to its first 5 to 14 words."""
    rng = random.Random(f"{seed}-queries")
    out = []
    for _ in range(count):
        words = Prose(rng, rng.choice(sorted(TOPICS))).sentence().rstrip(".?").split()
        out.append(" ".join(words[: rng.randint(5, 14)]))
    return out
