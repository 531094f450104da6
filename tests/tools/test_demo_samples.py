"""The bundled demo documents and the demo workflow's two tool steps (first-start bootstrap)."""

from pathlib import Path

import pytest

from unstract.demo.make_samples import SAMPLES_DIR, sample_files, write_samples
from unstract.jsonschemas import mime_type_for
from unstract.tools import field_extractor, text_extractor
from unstract.tools.registry import load_tool_settings

DEMO_RULES = [
    {
        "name": "invoice_number",
        "pattern": r"Invoice (?:Number|No\.?)[:#]?\s*([A-Z0-9-]+)",
        "group": 1,
        "type": "string",
    },
    {"name": "total", "pattern": r"Total[:\s]*\$?([0-9][0-9,]*(?:\.[0-9]+)?)", "group": 1, "type": "number"},
]


def run_demo_steps(path: Path):
    text_settings, errors = load_tool_settings("text_extractor", {})
    assert errors == []
    field_settings, errors = load_tool_settings("field_extractor", {"rules": DEMO_RULES})
    assert errors == []
    source = path.read_bytes()
    mime_type = mime_type_for(path.name)
    step1 = text_extractor.run(source, mime_type, None, text_settings)
    return field_extractor.run(source, mime_type, step1.output, field_settings)


def test_bundled_samples_are_the_generated_ones():
    assert sorted(p.name for p in SAMPLES_DIR.iterdir()) == [
        "invoice-1001.pdf",
        "invoice-1002.txt",
        "meeting-notes.md",
    ]
    for name, content in sample_files().items():
        assert (SAMPLES_DIR / name).read_bytes() == content


def test_make_samples_is_deterministic(tmp_path):
    first = {p.name: p.read_bytes() for p in write_samples(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in write_samples(tmp_path / "b")}
    assert first == second
    assert first["invoice-1001.pdf"].startswith(b"%PDF-1.4")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoice-1001.pdf", {"invoice_number": "INV-1001", "total": 1250.5}),
        ("invoice-1002.txt", {"invoice_number": "INV-1002", "total": 980.0}),
    ],
)
def test_demo_rules_extract_invoice_fields(name, expected):
    result = run_demo_steps(SAMPLES_DIR / name)
    assert result.output == expected
    assert isinstance(result.output["total"], float)
    assert result.warnings == []


def test_demo_rules_find_nothing_in_the_meeting_note():
    result = run_demo_steps(SAMPLES_DIR / "meeting-notes.md")
    assert result.output == {"invoice_number": None, "total": None}
    assert result.warnings == []
