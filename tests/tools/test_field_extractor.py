"""field_extractor (docs/EXECUTION.md, Tools): matching, conversions, required failures, warnings; rule checks."""

import pytest

from unstract.jsonschemas import FieldError
from unstract.tools import ToolError, field_extractor
from unstract.tools.field_extractor import check_field_rules


def rule(name="value", pattern=r"Value: (.*)", group=1, type_="string", required=False):
    return {"name": name, "pattern": pattern, "group": group, "type": type_, "required": required}


def extract(text, *rules):
    return field_extractor.run(b"", "text/plain", {"text": text}, {"rules": list(rules)})


def extract_with(text, settings, *rules):
    return field_extractor.run(b"", "text/plain", {"text": text}, {"rules": list(rules), **settings})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1250", 1250),
        ("-42", -42),
        ("+7", 7),
        ("1,250.50", 1250.5),
        ("€ 3.553,82", 3553.82),
        ("1 000 000", 1000000),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1.5e3", 1500.0),
        ("-2E-2", -0.02),
        ("$5", 5),
    ],
)
def test_number_conversion(raw, expected):
    """The rules themselves are tested in test_values.py; here: the tool uses them and keeps the type."""
    value = extract(f"Value: {raw}", rule(type_="number")).output["value"]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12abc", ""),
        ("nan", ""),
        ("1e999", ": out of range"),
        ("--1", ": two minus signs"),
        ("1.2.3", ": digit groups that are not thousands"),
        ("1,250", ": ambiguous: ',' may separate decimals or thousands; set decimal_separator or locale"),
    ],
)
def test_number_conversion_failure_is_null_with_a_warning(raw, reason):
    result = extract(f"Value: {raw}", rule(type_="number"))
    assert result.output == {"value": None}
    assert result.warnings == [f"field 'value' value '{raw}' is not a valid number{reason}."]


def test_the_euro_amount_of_the_issue_is_not_read_as_a_small_number():
    text = "Total: € 3.553,82\nNet: 1.234\n"
    rules = [rule(name="total", pattern=r"Total: (.*)", type_="number"),
             rule(name="net", pattern=r"Net: (.*)", type_="number")]
    assert extract(text, *rules).output == {"total": 3553.82, "net": None}
    assert extract_with(text, {"locale": "de-DE"}, *rules).output == {"total": 3553.82, "net": 1234}
    assert extract_with(text, {"decimal_separator": "."}, *rules).output == {"total": None, "net": 1.234}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-28", "2026-11-28"),
        ("28.11.2026", "2026-11-28"),
        ("28/11/2026", "2026-11-28"),
        ("11/28/2026", "2026-11-28"),
        ("28 November 2026", "2026-11-28"),
        ("November 28, 2026", "2026-11-28"),
        ("28 Nov 2026", "2026-11-28"),
        ("Nov 28, 2026", "2026-11-28"),
    ],
)
def test_date_formats(raw, expected):
    assert extract(f"Value: {raw}", rule(type_="date")).output == {"value": expected}


def test_a_date_whose_day_and_month_can_swap_needs_the_date_order():
    result = extract("Value: 03/12/2026", rule(type_="date"))
    assert result.output == {"value": None}
    assert result.warnings == ["field 'value' value '03/12/2026' is not a valid date: ambiguous: day and month "
                               "could be swapped; set date_order or locale."]
    assert extract_with("Value: 03/12/2026", {"date_order": "MDY"}, rule(type_="date")).output == {
        "value": "2026-03-12"}
    assert extract_with("Value: 03/12/2026", {"locale": "en-GB"}, rule(type_="date")).output == {
        "value": "2026-12-03"}
    assert extract_with("Value: 03/12/2026", {"locale": "en-GB", "date_order": "MDY"},
                        rule(type_="date")).output == {"value": "2026-03-12"}


@pytest.mark.parametrize(("raw", "reason"), [("2026-13-01", ": no such day"), ("31.02.2026", ": no such day"),
                                             ("tomorrow", ""), ("28 Novembr 2026", "")])
def test_invalid_date_is_null_with_a_warning(raw, reason):
    result = extract(f"Value: {raw}", rule(type_="date"))
    assert result.output == {"value": None}
    assert result.warnings == [f"field 'value' value '{raw}' is not a valid date{reason}."]


def test_string_value_is_trimmed_and_kept_as_is():
    result = extract("Value:    Hello, World  \nnext", rule())
    assert result.output == {"value": "Hello, World"}
    assert result.warnings == []


def test_group_zero_is_the_whole_match():
    assert extract("id=ABC-12;", rule(pattern=r"[A-Z]+-\d+", group=0)).output == {"value": "ABC-12"}


def test_multiline_anchors_match_at_line_starts():
    result = extract("intro\nTotal: 5\n", rule(name="total", pattern=r"^Total: (\d+)$", type_="number"))
    assert result.output == {"total": 5}


def test_first_match_wins():
    assert extract("Value: one\nValue: two", rule()).output == {"value": "one"}


def test_group_that_did_not_participate_counts_as_no_match():
    result = extract("Code: X", rule(pattern=r"Code: (?:(\d+)|X)", group=1, required=False))
    assert result.output == {"value": None}
    with pytest.raises(ToolError, match=r"^required field 'value' not found\.$"):
        extract("Code: X", rule(pattern=r"Code: (?:(\d+)|X)", group=1, required=True))


def test_missing_optional_field_is_null_without_warning():
    result = extract("nothing here", rule())
    assert result.output == {"value": None}
    assert result.warnings == []


def test_missing_required_field_fails_the_file():
    with pytest.raises(ToolError) as caught:
        extract("nothing here", rule(name="invoice_number", required=True))
    assert str(caught.value) == "required field 'invoice_number' not found."


def test_required_field_with_failed_conversion_fails_the_file():
    with pytest.raises(ToolError) as caught:
        extract("Value: 12 apples", rule(name="count", type_="number", required=True))
    assert str(caught.value) == "field 'count' value '12 apples' is not a valid number."


def test_required_date_failure_message():
    with pytest.raises(ToolError) as caught:
        extract("Value: someday", rule(name="due", type_="date", required=True))
    assert str(caught.value) == "field 'due' value 'someday' is not a valid date."


def test_output_keys_follow_rule_order():
    result = extract(
        "b=2 a=1",
        rule(name="zeta", pattern=r"a=(\d)", type_="number"),
        rule(name="alpha", pattern=r"b=(\d)", type_="number"),
        rule(name="mid", pattern=r"c=(\d)"),
    )
    assert list(result.output) == ["zeta", "alpha", "mid"]
    assert result.output == {"zeta": 1, "alpha": 2, "mid": None}


def test_rule_defaults_apply_when_fields_are_absent():
    result = field_extractor.run(
        b"", "text/plain", {"text": "ref 42"}, {"rules": [{"name": "r", "pattern": r"\d+"}]}
    )
    assert result.output == {"r": "42"}


def test_text_is_extracted_from_the_source_without_a_previous_text():
    result = field_extractor.run(
        b"\xef\xbb\xbfValue: 12\n", "text/plain", None, {"rules": [rule(type_="number")]}
    )
    assert result.output == {"value": 12}


def test_previous_output_without_string_text_falls_back_to_the_source():
    previous = {"text": 5, "invoice": "x"}
    result = field_extractor.run(b"Value: from source", "text/plain", previous, {"rules": [rule()]})
    assert result.output == {"value": "from source"}


def test_previous_text_is_preferred_over_the_source():
    previous = {"text": "Value: from previous"}
    result = field_extractor.run(b"Value: from source", "text/plain", previous, {"rules": [rule()]})
    assert result.output == {"value": "from previous"}


def test_unsupported_source_without_previous_text_fails():
    with pytest.raises(ToolError, match="^Unsupported file type for text extraction: application/msword$"):
        field_extractor.run(b"\xd0\xcf\x11\xe0", "application/msword", None, {"rules": [rule()]})


def test_large_text_with_many_rules():
    text = "filler line\n" * 200_000 + "Invoice Number: INV-9\nTotal: 12.5\n"
    rules = [rule(name=f"r{i}", pattern=r"^Total: ([\d.]+)$", type_="number") for i in range(50)]
    result = extract(text, *rules)
    assert set(result.output.values()) == {12.5}
    assert len(result.output) == 50


def test_check_field_rules_accepts_valid_rules():
    assert check_field_rules([rule(name="a", pattern="(x)(y)", group=2), rule(name="b", group=0)]) == []


def test_check_field_rules_reports_invalid_regex():
    errors = check_field_rules(
        [rule(name="a", pattern=r"\d+", group=0), rule(name="b", pattern="(unclosed", group=0)]
    )
    assert errors == [
        FieldError(
            "metadata.rules.1.pattern",
            "invalid_regex",
            "Invalid regular expression: missing ), unterminated subpattern at position 0.",
        )
    ]


def test_check_field_rules_reports_group_above_the_group_count():
    errors = check_field_rules([rule(name="a", pattern=r"(\d+)-(\d+)", group=3)])
    assert errors == [
        FieldError("metadata.rules.0.group", "invalid", "Group 3 does not exist in the pattern.")
    ]


def test_check_field_rules_reports_each_repeated_name_at_its_later_index():
    errors = check_field_rules([rule(name="a"), rule(name="b"), rule(name="a"), rule(name="a")])
    assert errors == [
        FieldError("metadata.rules.2.name", "unique", "Duplicate rule name: 'a'."),
        FieldError("metadata.rules.3.name", "unique", "Duplicate rule name: 'a'."),
    ]


def test_check_field_rules_reports_several_problems_of_one_rule():
    errors = check_field_rules([rule(name="a"), rule(name="a", pattern="(x", group=5)])
    assert [(e.attr, e.code) for e in errors] == [
        ("metadata.rules.1.name", "unique"),
        ("metadata.rules.1.pattern", "invalid_regex"),
    ]
