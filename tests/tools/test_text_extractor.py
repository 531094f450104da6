"""text_extractor (docs/EXECUTION.md, Tools): each MIME kind, PDF pages, decoding and whitespace."""

from pathlib import Path

import pytest

from unstract.demo.make_samples import build_pdf
from unstract.tools import ToolError, ToolLimits, text_extractor

SAMPLES = Path(__file__).resolve().parents[2] / "unstract" / "demo" / "samples"


def extract(source: bytes, mime_type: str, **settings):
    return text_extractor.run(source, mime_type, None, settings).output


def test_sample_pdf_text_layer_is_extracted():
    output = extract((SAMPLES / "invoice-1001.pdf").read_bytes(), "application/pdf")
    assert "Invoice Number: INV-1001\n" in output["text"]
    assert output["text"].rstrip().endswith("Total: $1,250.50")
    assert output["mime_type"] == "application/pdf"
    assert output["page_count"] == 1


def test_pdf_pages_are_joined_with_a_blank_line(tmp_path):
    path = tmp_path / "three.pdf"
    path.write_bytes(build_pdf([["page one"], ["page two"], ["page three"]]))
    output = extract(path.read_bytes(), "application/pdf", mode="native")
    assert output["text"] == "page one\n\npage two\n\npage three"
    assert output["page_count"] == 3


def test_max_pages_limits_the_pages_read_but_not_the_page_count():
    source = build_pdf([["alpha"], ["beta"], ["gamma"]])
    output = extract(source, "application/pdf", max_pages=2, mode="native")
    assert output["text"] == "alpha\n\nbeta"
    assert output["page_count"] == 3
    assert output["pages"] == [{"page": 1, "method": "native", "chars": 5}, {"page": 2, "method": "native", "chars": 4}]


def test_max_pages_above_the_page_count_reads_every_page():
    output = extract(build_pdf([["alpha"], ["beta"]]), "application/pdf", max_pages=10, mode="native")
    assert output["text"] == "alpha\n\nbeta"


@pytest.mark.parametrize("source", [b"", b"this is not a pdf", b"%PDF-1.4\n1 0 obj\n<<"])
def test_unreadable_pdf_fails_with_cannot_read(source):
    with pytest.raises(ToolError) as caught:
        extract(source, "application/pdf")
    assert str(caught.value).startswith("Cannot read PDF: ")
    assert len(str(caught.value)) > len("Cannot read PDF: ")


@pytest.mark.parametrize("mime_type", ["text/plain", "text/markdown", "text/csv", "application/json"])
def test_text_like_types_are_decoded_as_utf8(mime_type):
    output = extract("naïve, café\n".encode(), mime_type)
    assert output == {"text": "naïve, café\n", "mime_type": mime_type, "page_count": None, "truncated": False,
                      "pages": [{"page": 1, "method": "native", "chars": 12}], "ocr_pages": 0}


def test_leading_bom_is_removed_and_only_leading():
    output = extract(b"\xef\xbb\xbfone\xef\xbb\xbftwo", "text/plain")
    assert output["text"] == "one\ufefftwo"


def test_invalid_utf8_bytes_become_replacement_characters():
    output = extract(b"ab\xffcd\xc3", "text/plain")
    assert output["text"] == "ab\ufffdcd\ufffd"


def test_html_text_excludes_script_and_style():
    html = (
        b"<html><head><title>T</title><style>p { color: red; }</style></head>"
        b"<body><p>Invoice &amp; total</p><script>var s = '<p>hidden</p>';</script>"
        b"<SCRIPT type='x'>also hidden</SCRIPT><div>end</div></body></html>"
    )
    text = extract(html, "text/html")["text"]
    assert text == "TInvoice & totalend"


def test_html_self_closing_script_does_not_hide_the_rest():
    text = extract(b"<p>a</p><script src='x.js'/><p>b</p>", "text/html")["text"]
    assert text == "ab"


def test_normalize_whitespace_collapses_runs_and_trims():
    output = extract(b"  Invoice\t\tNumber:\n\n  INV-1 \r\n", "text/plain", normalize_whitespace=True)
    assert output["text"] == "Invoice Number: INV-1"


def test_whitespace_is_kept_without_normalize():
    assert extract(b"  a\n\nb  ", "text/plain", normalize_whitespace=False)["text"] == "  a\n\nb  "


def test_normalize_whitespace_applies_to_pdf_text():
    output = extract(build_pdf([["a  b", "c"], ["d"]]), "application/pdf", normalize_whitespace=True, mode="native")
    assert output["text"] == "a b c d"


@pytest.mark.parametrize("mime_type", ["image/svg+xml", "application/msword", "application/octet-stream"])
def test_other_types_are_unsupported(mime_type):
    with pytest.raises(ToolError) as caught:
        extract(b"\x89PNG", mime_type)
    assert str(caught.value) == f"Unsupported file type for text extraction: {mime_type}"


def test_large_text_is_extracted_and_normalized():
    source = b"word \n\t" * 300_000
    text = extract(source, "text/plain", normalize_whitespace=True)["text"]
    assert len(text) == len("word ") * 300_000 - 1


def test_text_above_the_limit_is_cut_with_a_warning_and_flagged():
    result = text_extractor.run(b"abcdefghij" * 3, "text/plain", None, {}, ToolLimits(max_text_chars=12))
    assert result.output["text"] == "abcdefghijab" and result.output["truncated"] is True
    assert result.warnings == ["text truncated to 12 characters (of 30)."]


def test_text_at_the_limit_is_whole_and_not_flagged():
    result = text_extractor.run(b"abcdefghij", "text/plain", None, {}, ToolLimits(max_text_chars=10))
    assert result.output["text"] == "abcdefghij" and result.output["truncated"] is False
    assert result.warnings == []


def test_sample_pdf_lines_are_long_enough_to_be_read_natively_by_default():
    output = extract((SAMPLES / "invoice-1001.pdf").read_bytes(), "application/pdf")
    assert output["pages"] == [{"page": 1, "method": "native", "chars": len(output["text"])}]
    assert output["ocr_pages"] == 0


def test_html_is_one_native_page():
    output = extract(b"<p>Invoice</p>", "text/html")
    assert output["pages"] == [{"page": 1, "method": "native", "chars": 7}] and output["page_count"] is None


@pytest.mark.parametrize("source", [b"", b" \n\t "])
def test_a_file_without_text_warns_that_nothing_was_extracted(source):
    result = text_extractor.run(source, "text/plain", None, {})
    assert result.output["text"] == source.decode()
    assert result.warnings == ["no text extracted: the file has no text."]


def test_a_pdf_without_pages_cannot_be_read():  # PDFium refuses a page tree without pages
    with pytest.raises(ToolError, match="^Cannot read PDF: Failed to load document"):
        text_extractor.run(build_pdf([]), "application/pdf", None, {})
