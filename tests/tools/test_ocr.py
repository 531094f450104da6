"""text_extractor with OCR (docs/EXECUTION.md, Tools): real Tesseract on images and image-only PDFs made
by the tests, known text in and the same words out; modes per page; corrupt files."""

from __future__ import annotations

import struct
import zlib

import pytest
from PIL import Image

from tests.tools.scans import has_words, image_bytes, joined_pdf, scanned_pdf, text_image
from unstract.demo.make_samples import build_pdf
from unstract.tools import ToolError, ToolLimits, text_extractor
from unstract.tools.ocr import installed_languages, tessdata_candidates, tessdata_dir

INVOICE = ["Invoice Number INV-2042", "Total due 1,234.56 EUR"]
LETTER = ["Dear customer, thank you", "for your order of blue widgets"]
NATIVE_LINE = "This page has a proper text layer with plenty of characters."


def extract(source: bytes, mime_type: str, **settings):
    return text_extractor.run(source, mime_type, None, settings)


# --- Images -------------------------------------------------------------------------------------

IMAGE_TYPES = [
    ("image/png", "PNG", {}),
    ("image/jpeg", "JPEG", {"quality": 90}),
    ("image/tiff", "TIFF", {"compression": "tiff_lzw"}),
    ("image/webp", "WEBP", {"lossless": True}),
    ("image/bmp", "BMP", {}),
    ("image/gif", "GIF", {}),
]


@pytest.mark.parametrize(("mime_type", "image_format", "options"), IMAGE_TYPES)
def test_each_image_type_is_ocred(mime_type, image_format, options):
    result = extract(image_bytes(text_image(INVOICE, mode="RGB"), image_format, **options), mime_type)
    output = result.output
    assert has_words(output["text"], " ".join(INVOICE)), output["text"]
    assert output["pages"] == [{"page": 1, "method": "ocr", "chars": len(output["text"])}]
    assert (output["ocr_pages"], output["page_count"], output["mime_type"]) == (1, 1, mime_type)
    assert output["truncated"] is False and result.warnings == []


def test_each_frame_of_a_multi_page_tiff_is_a_page():
    pages = [text_image(INVOICE), text_image(LETTER)]
    source = image_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    output = extract(source, "image/tiff").output
    first, second = _split_pages(output)
    assert has_words(first, " ".join(INVOICE)) and has_words(second, " ".join(LETTER))
    assert [(p["page"], p["method"]) for p in output["pages"]] == [(1, "ocr"), (2, "ocr")]
    assert (output["ocr_pages"], output["page_count"]) == (2, 2)


def test_max_pages_limits_the_frames_read():
    pages = [text_image(INVOICE), text_image(LETTER)]
    output = extract(image_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:]), "image/tiff",
                     max_pages=1).output
    assert has_words(output["text"], " ".join(INVOICE)) and not has_words(output["text"], "widgets")
    assert (len(output["pages"]), output["page_count"]) == (1, 2)


def test_transparent_background_reads_as_white_paper():
    image = text_image(INVOICE, mode="RGBA")
    transparent = Image.new("RGBA", image.size, (0, 0, 0, 0))
    transparent.paste(image, mask=image.convert("L").point(lambda value: 255 - value))
    output = extract(image_bytes(transparent, "PNG"), "image/png").output
    assert has_words(output["text"], " ".join(INVOICE)), output["text"]


def test_sixteen_bit_grey_scan_is_read():
    scan = text_image(INVOICE).point(lambda value: value * 16).convert("I;16")  # a 12-bit scanner's range
    output = extract(image_bytes(scan, "PNG"), "image/png").output
    assert has_words(output["text"], " ".join(INVOICE)), output["text"]


def test_an_image_in_native_mode_is_not_ocred_and_the_warning_says_what_would_read_it():
    result = extract(image_bytes(text_image(INVOICE), "PNG"), "image/png", mode="native")
    assert result.output["text"] == "" and result.output["ocr_pages"] == 0
    assert result.output["pages"] == [{"page": 1, "method": "native", "chars": 0}]
    assert result.warnings == ["no text extracted: an image has no text layer; mode ocr or auto would OCR it."]


def test_a_blank_scan_warns_that_ocr_found_no_text():
    result = extract(image_bytes(text_image([]), "PNG"), "image/png", dpi=150)
    assert result.output["text"] == "" and result.output["pages"] == [{"page": 1, "method": "ocr", "chars": 0}]
    assert result.warnings == ["no text extracted: OCR (language eng, 150 dpi) found no text on 1 page(s)."]


# --- PDFs ---------------------------------------------------------------------------------------

def test_a_scanned_pdf_is_ocred_by_default():
    output = extract(scanned_pdf([INVOICE, LETTER]), "application/pdf").output
    first, second = _split_pages(output)
    assert has_words(first, " ".join(INVOICE)) and has_words(second, " ".join(LETTER)), output["text"]
    assert [(p["page"], p["method"]) for p in output["pages"]] == [(1, "ocr"), (2, "ocr")]
    assert (output["ocr_pages"], output["page_count"]) == (2, 2)


def test_auto_mode_reads_each_page_by_its_own_method():
    source = joined_pdf([build_pdf([[NATIVE_LINE]]), scanned_pdf([INVOICE]), build_pdf([[NATIVE_LINE]])])
    output = extract(source, "application/pdf", mode="auto").output
    assert [p["method"] for p in output["pages"]] == ["native", "ocr", "native"]
    first, second, third = _split_pages(output)
    assert first == NATIVE_LINE and third == NATIVE_LINE
    assert has_words(second, " ".join(INVOICE)), second
    assert output["ocr_pages"] == 1


def test_native_mode_reads_only_the_text_layer_and_warns_on_a_scan():
    result = extract(scanned_pdf([INVOICE]), "application/pdf", mode="native")
    assert result.output["text"] == "" and result.output["ocr_pages"] == 0
    assert result.output["pages"] == [{"page": 1, "method": "native", "chars": 0}]
    assert result.warnings == ["no text extracted: the PDF has no text layer; mode ocr or auto would OCR it."]


def test_ocr_mode_recognises_pages_that_have_a_text_layer():
    output = extract(build_pdf([[NATIVE_LINE]]), "application/pdf", mode="ocr", dpi=200).output
    assert output["pages"][0]["method"] == "ocr"
    assert has_words(output["text"], NATIVE_LINE), output["text"]


def test_ocr_min_chars_decides_which_text_layers_are_too_thin():
    source = build_pdf([["Page 1 of 3"], [NATIVE_LINE]])  # 9 non-space characters, then 51
    default = extract(source, "application/pdf").output
    assert [p["method"] for p in default["pages"]] == ["ocr", "native"]
    assert has_words(default["text"], "page 1 of 3")
    lenient = extract(source, "application/pdf", ocr_min_chars=5).output
    assert [p["method"] for p in lenient["pages"]] == ["native", "native"]
    assert lenient["text"] == "Page 1 of 3\n\n" + NATIVE_LINE
    strict = extract(source, "application/pdf", ocr_min_chars=60).output
    assert [p["method"] for p in strict["pages"]] == ["ocr", "ocr"]


def test_chars_count_each_page_in_the_output_after_normalizing_and_cutting():
    source = build_pdf([["alpha beta", "gamma"], [], ["delta", "epsilon", "zeta"]])
    spaced = extract(source, "application/pdf", mode="native").output
    assert spaced["text"] == "alpha beta\ngamma\n\n\n\ndelta\nepsilon\nzeta"  # the empty page keeps its blank line
    assert [p["chars"] for p in spaced["pages"]] == [16, 0, 18]
    normalized = extract(source, "application/pdf", mode="native", normalize_whitespace=True).output
    assert normalized["text"] == "alpha beta gamma delta epsilon zeta"
    assert [p["chars"] for p in normalized["pages"]] == [16, 0, 18]
    cut = text_extractor.run(source, "application/pdf", None, {"mode": "native", "normalize_whitespace": True},
                             ToolLimits(max_text_chars=20))
    assert cut.output["text"] == "alpha beta gamma del" and cut.output["truncated"] is True
    assert [p["chars"] for p in cut.output["pages"]] == [16, 0, 3]
    assert cut.warnings == ["text truncated to 20 characters (of 35)."]


def test_a_huge_page_is_rendered_at_a_lower_resolution_with_a_warning():
    wide = build_pdf([[NATIVE_LINE]]).replace(b"/MediaBox [0 0 612 792]", b"/MediaBox [0 0 4000 3000]")
    result = extract(wide, "application/pdf", mode="ocr", dpi=600)
    assert result.output["pages"][0]["method"] == "ocr"
    assert has_words(result.output["text"], NATIVE_LINE), result.output["text"]
    assert result.warnings == ["page 1 is too large to render at 600 dpi; OCR used 166 dpi."]


# --- Corrupt files and languages ----------------------------------------------------------------

def _png_claiming(width: int, height: int) -> bytes:
    """A PNG announcing width x height grey pixels, with a few bytes of them: a decompression bomb's shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def _corrupt_images() -> list[tuple[str, bytes, str]]:
    png = image_bytes(text_image(INVOICE), "PNG")
    jpeg = image_bytes(text_image(INVOICE), "JPEG")
    return [
        ("image/png", b"", "Cannot read image: cannot identify image file"),
        ("image/png", b"not an image at all", "Cannot read image: cannot identify image file"),
        ("image/png", png[: len(png) // 2], "Cannot read image: image file is truncated"),
        ("image/jpeg", jpeg[: len(jpeg) // 2], "Cannot read image: image file is truncated"),
        ("image/tiff", b"II*\x00\x08\x00\x00\x00\xff\xff", "Cannot read image: "),
        ("image/png", _png_claiming(9000, 9000), "Cannot read image: 9000x9000 pixels is more than 64,000,000 pixels."),
    ]


@pytest.mark.parametrize(("mime_type", "source", "message"), _corrupt_images())
def test_a_corrupt_image_fails_with_cannot_read_image(mime_type, source, message):
    with pytest.raises(ToolError) as caught:
        extract(source, mime_type)
    assert str(caught.value).startswith(message), str(caught.value)
    assert len(str(caught.value)) > len("Cannot read image: ")
    assert " object at 0x" not in str(caught.value)  # no object addresses in a user-facing message


@pytest.mark.parametrize("source", [b"%PDF-1.7\n" + b"\x00" * 200, scanned_pdf([INVOICE])[:400]])
def test_a_corrupt_pdf_fails_with_cannot_read_pdf_in_every_mode(source):
    for mode in ("native", "ocr", "auto"):
        with pytest.raises(ToolError, match="^Cannot read PDF: .+"):
            extract(source, "application/pdf", mode=mode)


def test_a_pdf_whose_page_cannot_be_loaded_names_the_page():
    dangling = build_pdf([[NATIVE_LINE], [NATIVE_LINE]]).replace(b"/Kids [4 0 R 6 0 R]", b"/Kids [4 0 R 9 0 R]")
    with pytest.raises(ToolError, match="^Cannot read PDF: page 2: Failed to load page.$"):
        extract(dangling, "application/pdf")


def test_a_file_that_is_not_the_image_it_claims_is_refused_by_content_not_trusted():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ToolError, match="^Cannot read image: cannot identify image file$"):
        extract(eps, "image/png")  # Pillow's EPS reader would run Ghostscript: never tried


def test_an_uninstalled_language_is_a_tool_error_naming_the_installed_ones():
    with pytest.raises(ToolError) as caught:
        extract(image_bytes(text_image(INVOICE), "PNG"), "image/png", ocr_language="xyz")
    assert str(caught.value) == "OCR language 'xyz' is not installed (installed: eng, osd)."


def test_the_english_traineddata_is_found_in_the_installed_package():
    assert (tessdata_dir("eng") / "eng.traineddata").is_file()
    assert tessdata_dir("eng") in tessdata_candidates() and "eng" in installed_languages()


def test_tessdata_prefix_is_searched_first(tmp_path, monkeypatch):
    (tmp_path / "tessdata").mkdir()
    (tmp_path / "tessdata" / "zzz.traineddata").write_bytes(b"model")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    tessdata_dir.cache_clear()
    try:
        assert tessdata_dir("zzz") == tmp_path / "tessdata"
        assert tessdata_dir("eng").name == "tessdata" and tessdata_dir("eng") != tmp_path / "tessdata"
    finally:
        tessdata_dir.cache_clear()


def _split_pages(output: dict) -> list[str]:
    """The output text cut into its pages by the `chars` of each (pages are joined by a blank line)."""
    texts, position = [], 0
    for page in output["pages"]:
        texts.append(output["text"][position:position + page["chars"]])
        position += page["chars"] + 2
    return texts
