"""HTML: only the text a reader sees, blocks as paragraphs, table rows as `cell | cell`."""

from __future__ import annotations

import codecs
import io

from library.extract import extract


def text_of(html: str | bytes, **kwargs: object) -> str:
    data = html.encode() if isinstance(html, str) else html
    extracted = extract(io.BytesIO(data), filename="page.html", **kwargs)  # type: ignore[arg-type]
    assert len(extracted.pages) == 1
    assert extracted.pages[0].number is None
    return extracted.pages[0].text


def test_scripts_styles_and_other_invisible_parts_are_left_out():
    html = """<!DOCTYPE html>
<html><head>
  <title>Head title</title>
  <meta name="description" content="meta text">
  <style>body { color: red; } .secret { display: none }</style>
  <script>var hidden = "script text";</script>
</head>
<body>
  <!-- a comment -->
  <script type="application/ld+json">{"json": "text"}</script>
  <noscript>Please enable JavaScript</noscript>
  <template><p>template text</p></template>
  <h1>Visible heading</h1>
  <p>Visible paragraph.</p>
  <div hidden>hidden by attribute</div>
  <p style="color: grey; display:none">hidden by style</p>
  <span style="visibility: hidden">invisible</span>
  <svg><text>svg text</text></svg>
  <iframe src="x">iframe fallback</iframe>
  <p>Last words.</p>
  <script>document.write("late script")</script>
</body></html>"""

    assert text_of(html) == "Visible heading\n\nVisible paragraph.\n\nLast words."


def test_blocks_are_paragraphs_and_inline_elements_are_not():
    html = """<body>
<h2>Every  week</h2>
<p>Empty the <b>hopper</b> and <a href="#">brush</a>
   the <em>burrs</em>.</p>
<ul><li>One</li><li>Two <span>items</span></li></ul>
<div>Outer <div>inner</div> tail</div>
Bare body text
</body>"""

    assert text_of(html) == (
        "Every week\n\nEmpty the hopper and brush the burrs.\n\nOne\n\nTwo items\n\nOuter\n\ninner\n\ntail\n\n"
        "Bare body text"
    )


def test_a_line_break_is_a_line_and_two_of_them_a_paragraph():
    html = "<p>Northwind Coffee<br>1 High Street<br/>Leeds<br><br>Open daily</p>"

    assert text_of(html) == "Northwind Coffee\n1 High Street\nLeeds\n\nOpen daily"


def test_table_rows_are_paragraphs_of_cells():
    html = """<table>
<caption>Warranty</caption>
<thead><tr><th>Product</th><th>Warranty</th></tr></thead>
<tbody>
<tr><td>Espresso machine <b>EM-200</b></td><td><p>2 years,</p><p>parts and labour</p></td></tr>
<tr><td>Grinder</td><td></td><td>extra</td></tr>
</tbody></table>"""

    assert text_of(html) == (
        "Warranty\n\nProduct | Warranty\n\nEspresso machine EM-200 | 2 years, parts and labour\n\nGrinder | | extra"
    )


def test_preformatted_text_keeps_its_spaces_and_lines():
    html = "<p>Hours:</p><pre>Monday   08:00 - 18:00\nSunday   closed\n</pre><p>Thanks</p>"

    assert text_of(html) == "Hours:\n\nMonday   08:00 - 18:00\nSunday   closed\n\nThanks"


def test_entities_and_non_breaking_spaces():
    assert text_of("<p>Fish&nbsp;&amp;&nbsp;chips &lt;3 &eacute;t&eacute;</p>") == "Fish & chips <3 été"


def test_a_declared_windows_1252_charset_is_honoured():
    html = (
        '<html><head><meta charset="windows-1252"></head><body><p>Caf\u00e9 \u201cNord\u201d \u20ac</p></body></html>'
    )

    assert text_of(html.encode("cp1252")) == "Café “Nord” €"


def test_a_latin1_label_is_read_as_windows_1252_as_browsers_do():
    html = '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>\u201cquoted\u201d</p>'

    assert text_of(html.encode("cp1252")) == "“quoted”"


def test_an_undeclared_cp1252_page_is_decoded_as_a_text_file_is():
    html = "<p>Café “Le Progrès” \u2013 déjà vu, naïve façade, 12,50 € à payer.</p>"

    assert text_of(html.encode("cp1252")) == "Café “Le Progrès” \u2013 déjà vu, naïve façade, 12,50 € à payer."


def test_a_utf16_page_with_its_byte_order_mark():
    html = "<p>Grüße aus Köln</p><p>Zweiter Absatz</p>"

    assert text_of(codecs.BOM_UTF16_BE + html.encode("utf-16-be")) == "Grüße aus Köln\n\nZweiter Absatz"


def test_a_page_without_visible_text_has_no_text():
    html = "<html><head><title>Only a title</title><script>x()</script></head><body> <img src='a.png'> </body></html>"

    assert not extract(io.BytesIO(html.encode()), filename="empty.htm").has_text


def test_an_empty_file_has_no_text():
    assert not extract(io.BytesIO(b""), filename="empty.html").has_text


def test_deeply_nested_markup_is_read_without_recursion():
    html = "<div>" * 3000 + "deep text" + "</div>" * 3000

    assert text_of(html) == "deep text"


def test_the_cap_cuts_the_text():
    html = "<body>" + "".join(f"<p>Paragraph number {n}.</p>" for n in range(2_000)) + "</body>"

    text = text_of(html, max_chars=50)

    assert text == "Paragraph number 0.\n\nParagraph number 1.\n\nParagrap"
