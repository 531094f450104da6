"""Reading numbers and dates (unstract.tools.values): a table of formats found on real invoices and
statements, and the ambiguous ones that must be refused rather than guessed."""

import pytest

from unstract.tools.values import LOCALES, Unreadable, ValueFormat, parse_date, parse_number

AUTO = ValueFormat()
POINT = ValueFormat(decimal_separator=".")
COMMA = ValueFormat(decimal_separator=",")

NUMBERS = [
    # (text, format, value)                  where it is written like this
    ("1234", AUTO, 1234),
    ("1,234.56", AUTO, 1234.56),             # US, UK
    ("1,234,567.89", AUTO, 1234567.89),
    ("1.234,56", AUTO, 1234.56),             # Germany, Italy, Spain, Brazil
    ("1.234.567", AUTO, 1234567),
    ("1 234 567,89", AUTO, 1234567.89),      # France (space)
    ("1\u00a0234,50", AUTO, 1234.5),         # no-break space
    ("1\u202f234,50", AUTO, 1234.5),         # narrow no-break space (French typography)
    ("1'234.50", AUTO, 1234.5),              # Switzerland
    ("1\u2019234\u2019567.50", AUTO, 1234567.5),  # Switzerland, typeset apostrophes
    ("1,23,456.78", AUTO, 123456.78),        # India (lakh grouping)
    ("12,34,56,789", AUTO, 123456789),       # India (crore)
    ("$1,234.56", AUTO, 1234.56),            # currency symbol before
    ("\u20ac 3.553,82", AUTO, 3553.82),      # ... with a space: the value of the issue
    ("3.553,82 \u20ac", AUTO, 3553.82),      # currency symbol after
    ("\u00a31,000.00", AUTO, 1000.0),
    ("\u00a51,500,000", AUTO, 1500000),        # a repeated separator can only group thousands
    ("\u20b91,23,456", AUTO, 123456),
    ("Rs. 1,23,456.00", AUTO, 123456.0),
    ("USD 1,234.56", AUTO, 1234.56),         # ISO code before
    ("1'234.50 CHF", AUTO, 1234.5),          # ISO code after
    ("1.234,56 EUR", AUTO, 1234.56),
    ("R$ 1.234,56", AUTO, 1234.56),
    ("1 234,50 kr", AUTO, 1234.5),
    ("(1,234.56)", AUTO, -1234.56),          # accounting negative
    ("($ 99.90)", AUTO, -99.9),
    ("-1.234,56", AUTO, -1234.56),
    ("\u22121 234,50 \u20ac", AUTO, -1234.5),  # the minus sign U+2212
    ("1.234,56-", AUTO, -1234.56),           # trailing minus (German bank statements)
    ("-$5", AUTO, -5),
    ("$-5", AUTO, -5),
    ("+7", AUTO, 7),
    ("12,5 %", AUTO, 12.5),                  # percent: the number as written
    ("19%", AUTO, 19),
    ("0,125", AUTO, 0.125),                  # a leading zero is no thousands group
    ("0.125", AUTO, 0.125),
    ("3,5", AUTO, 3.5),
    ("12.50", AUTO, 12.5),
    ("1234.567", AUTO, 1234.567),            # four digits before: no thousands group
    (".5", AUTO, 0.5),
    ("1.5e3", AUTO, 1500.0),
    # with the separator known, the short forms are certain
    ("1,234", POINT, 1234),
    ("1,234", COMMA, 1.234),
    ("1.234", COMMA, 1234),
    ("1.234", POINT, 1.234),
    ("1 234", COMMA, 1234),
    ("1'234", POINT, 1234),
]

REFUSED_NUMBERS = [
    ("1,234", AUTO, "ambiguous"),            # US thousand, or European one point two
    ("1.234", AUTO, "ambiguous"),
    ("12,345", AUTO, "ambiguous"),
    ("$1,250", AUTO, "ambiguous"),
    ("1.234,56", POINT, "',' after the decimal separator '.'"),  # does not fit the setting: not guessed
    ("1,234.56", COMMA, "'.' after the decimal separator ','"),
    ("1,234,56", POINT, "digit groups that are not thousands"),
    ("1,2,3", AUTO, "digit groups that are not thousands"),
    ("12 5", AUTO, "digit groups that are not thousands"),
    ("1.234 567,89", AUTO, "mixed thousands separators"),
    ("1,234.567.89", AUTO, "more than one decimal separator"),
    ("12.", AUTO, "no digits after the decimal separator"),
    ("--1", AUTO, "two minus signs"),
    ("(-5)", AUTO, "two minus signs"),
    ("1e999", AUTO, "out of range"),
    ("1" * 400, AUTO, "out of range"),
    ("12 apples", AUTO, ""),
    ("nan", AUTO, ""),
    ("", AUTO, ""),
    ("\u20ac", AUTO, ""),
    ("1_000", AUTO, ""),
    ("INV 123", AUTO, ""),                   # letters that are no currency
]


@pytest.mark.parametrize(("text", "value_format", "expected"), NUMBERS)
def test_real_world_numbers(text, value_format, expected):
    value = parse_number(text, value_format)
    assert value == pytest.approx(expected) and type(value) is type(expected)


@pytest.mark.parametrize(("text", "value_format", "reason"), REFUSED_NUMBERS)
def test_numbers_that_are_not_certain_are_refused(text, value_format, reason):
    with pytest.raises(Unreadable) as refused:
        parse_number(text, value_format)
    assert reason in str(refused.value) if reason else str(refused.value) == ""


DMY = ValueFormat(date_order="DMY")
MDY = ValueFormat(date_order="MDY")
YMD = ValueFormat(date_order="YMD")

DATES = [
    ("2026-03-12", AUTO, "2026-03-12"),
    ("2026-03-12T10:00:00Z", AUTO, "2026-03-12"),
    ("2026-03-12 10:00", MDY, "2026-03-12"),     # ISO is ISO whatever the order setting
    ("2026/3/12", AUTO, "2026-03-12"),
    ("13/12/2026", AUTO, "2026-12-13"),          # only one reading is a date
    ("12/13/2026", AUTO, "2026-12-13"),
    ("03/03/2026", AUTO, "2026-03-03"),          # both readings are the same day
    ("03/12/2026", DMY, "2026-12-03"),
    ("03/12/2026", MDY, "2026-03-12"),
    ("03.12.2026", DMY, "2026-12-03"),
    ("03.12.26", AUTO, "2026-12-03"),            # dotted dates are day-first in every region
    ("12.03.2026", MDY, "2026-12-03"),           # ...unless an order is set
    ("3-12-26", DMY, "2026-12-03"),
    ("12.03.99", DMY, "1999-03-12"),
    ("26/03/12", YMD, "2026-03-12"),
    ("3 December 2026", AUTO, "2026-12-03"),
    ("3rd Dec 2026", AUTO, "2026-12-03"),
    ("03-Dec-26", AUTO, "2026-12-03"),
    ("December 3, 2026", AUTO, "2026-12-03"),
    ("Sept. 3, 2026", AUTO, "2026-09-03"),
    ("December 3, 2026", DMY, "2026-12-03"),     # a month name is never ambiguous
]

REFUSED_DATES = [
    ("03/12/2026", AUTO, "ambiguous: day and month could be swapped"),
    ("13/12/2026", MDY, "no such day"),          # does not fit the setting: not read the other way
    ("03/12/2026", YMD, ""),
    ("31/02/2026", DMY, "no such day"),
    ("2026-13-01", AUTO, "no such day"),
    ("13/14/2026", AUTO, ""),
    ("tomorrow", AUTO, ""),
    ("31 Foo 2024", AUTO, ""),
    ("3/12", AUTO, ""),
]


@pytest.mark.parametrize(("text", "value_format", "expected"), DATES)
def test_real_world_dates(text, value_format, expected):
    assert parse_date(text, value_format) == expected


@pytest.mark.parametrize(("text", "value_format", "reason"), REFUSED_DATES)
def test_dates_that_are_not_certain_are_refused(text, value_format, reason):
    with pytest.raises(Unreadable) as refused:
        parse_date(text, value_format)
    assert reason in str(refused.value) if reason else str(refused.value) == ""


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, ValueFormat(None, None)),
        ({"locale": "auto", "decimal_separator": "auto", "date_order": "auto"}, ValueFormat(None, None)),
        ({"locale": "de-DE"}, ValueFormat(",", "DMY")),
        ({"locale": "en-US"}, ValueFormat(".", "MDY")),
        ({"locale": "de-CH"}, ValueFormat(".", "DMY")),
        ({"locale": "en-US", "date_order": "DMY"}, ValueFormat(".", "DMY")),  # the explicit setting wins
        ({"locale": "de-DE", "decimal_separator": "."}, ValueFormat(".", "DMY")),
        ({"decimal_separator": ","}, ValueFormat(",", None)),
    ],
)
def test_the_locale_gives_defaults_that_explicit_settings_override(settings, expected):
    assert ValueFormat.from_settings(settings) == expected


def test_every_locale_has_a_known_separator_and_order():
    assert all(sep in ".," and order in ("DMY", "MDY", "YMD") for sep, order in LOCALES.values())
