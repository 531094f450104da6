"""Reading numbers and dates written by people: the one rule every tool that converts values follows.

A value is read only when its meaning is certain. "1,234" may be one thousand two hundred and
thirty-four (US) or one point two three four (most of Europe), and 03/04/2026 may be the 3rd of April or
the 4th of March: without a setting that says which convention the documents use, such values are
refused (`Unreadable`, with the reason) rather than guessed, so the caller stores null and logs a WARN
instead of a wrong number (docs/EXECUTION.md, Reading numbers and dates).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

AUTO = "auto"
DECIMAL_SEPARATORS = (AUTO, ".", ",")
DATE_ORDERS = (AUTO, "DMY", "MDY", "YMD")

# locale -> (decimal separator, date order): the conventions of the documents' region
LOCALES: dict[str, tuple[str, str]] = {
    "en-US": (".", "MDY"),
    "en-GB": (".", "DMY"),
    "en-IE": (".", "DMY"),
    "en-AU": (".", "DMY"),
    "en-IN": (".", "DMY"),
    "de-DE": (",", "DMY"),
    "de-AT": (",", "DMY"),
    "de-CH": (".", "DMY"),
    "fr-FR": (",", "DMY"),
    "fr-CH": (".", "DMY"),
    "it-IT": (",", "DMY"),
    "it-CH": (".", "DMY"),
    "es-ES": (",", "DMY"),
    "pt-PT": (",", "DMY"),
    "pt-BR": (",", "DMY"),
    "nl-NL": (",", "DMY"),
    "pl-PL": (",", "DMY"),
    "sv-SE": (",", "YMD"),
    "ja-JP": (".", "YMD"),
    "zh-CN": (".", "YMD"),
}

# Spaces people and software put between digit groups (no-break, thin, narrow no-break, figure) become
# plain spaces, and the right single quote that typesets Swiss grouping (1’234.50) an apostrophe.
_GROUP_SPACES = str.maketrans({"\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ", "\u2019": "'"})
_MINUS_SIGNS = ("-", "\u2212", "\u2013")  # hyphen-minus, the minus sign, an en dash typed as a minus
# ISO codes of common currencies and the short names printed instead of a symbol; any other letters
# ("INV 123") are not a currency, so the value is not a number.
_CURRENCY_CODES = (
    "EUR|USD|GBP|CHF|JPY|CNY|INR|AUD|CAD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|BRL|MXN|ZAR|RUB|TRY|KRW|SGD|HKD|AED|SAR|ILS"
    r"|THB|Rs\.?|Fr\.?|kr\.?|zł|R\$")
_CURRENCY_WORDS = re.compile(rf"^(?:{_CURRENCY_CODES})\s*|\s*(?:{_CURRENCY_CODES})$")
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?[eE][+-]?\d+")
_BODY = re.compile(r"[\d.,' ]+")


class Unreadable(ValueError):
    """The text is not certainly a value of the type; the message, when not empty, says why (it ends up
    in a WARN after "is not a valid <type>: ")."""

    def suffix(self) -> str:
        """": <reason>" when a reason is known, else ""."""
        return f": {self}" if str(self) else ""


@dataclass(frozen=True)
class ValueFormat:
    """How the documents write numbers and dates; None means "not known": decide from the text alone."""

    decimal_separator: str | None = None
    date_order: str | None = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> ValueFormat:
        """The tool settings `locale`, `decimal_separator` and `date_order` ("auto" or absent: not set);
        an explicit separator or order wins over the locale's."""
        locale_decimal, locale_order = LOCALES.get(settings.get("locale") or AUTO, (None, None))
        decimal = settings.get("decimal_separator") or AUTO
        order = settings.get("date_order") or AUTO
        return cls(decimal_separator=locale_decimal if decimal == AUTO else decimal,
                   date_order=locale_order if order == AUTO else order)


UNKNOWN = ValueFormat()


# --- Numbers -------------------------------------------------------------------------------------

def parse_number(text: str, value_format: ValueFormat = UNKNOWN) -> int | float:
    """The number written in text: an int without decimals, else a float; Unreadable when unsure.

    Understands currency symbols and codes before or after the amount, a trailing percent sign (the
    number stays as written: "12,5 %" is 12.5), minus signs before or after, negatives in
    parentheses, thousands grouped by `,` `.` `'` or spaces (Indian 1,23,456 grouping too) and
    scientific notation."""
    body = text.translate(_GROUP_SPACES).strip()
    negative, body = _sign(body)
    if _SCIENTIFIC.fullmatch(body):
        return _finite(float(body), negative)
    if not body or not _BODY.fullmatch(body) or not any(ch.isdigit() for ch in body):
        raise Unreadable()
    whole, fraction = _split_decimal(body, value_format.decimal_separator)
    digits = _ungroup(whole)
    if fraction is None:
        if len(digits) > 300:  # beyond any amount, and int() refuses very long digit strings
            raise Unreadable("out of range")
        value = int(digits or "0")
        return -value if negative else value
    try:
        number = Decimal(f"{digits or '0'}.{fraction}")
    except InvalidOperation:
        raise Unreadable() from None
    return _finite(float(number), negative)


def _finite(value: float, negative: bool) -> float:
    if not math.isfinite(value):
        raise Unreadable("out of range")
    return -value if negative else value


def _sign(body: str) -> tuple[bool, str]:
    """(negative, the amount without sign, parentheses, currency or percent sign)."""
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1].strip()
    for _ in range(3):  # "-$ 5", "$-5", "5 €-", "12,5 %": peel signs and symbols from both ends
        body = _strip_currency(body)
        if body.startswith(_MINUS_SIGNS) or body.endswith(_MINUS_SIGNS):
            if negative:
                raise Unreadable("two minus signs")
            negative = True
            body = body[1:] if body.startswith(_MINUS_SIGNS) else body[:-1]
        elif body.startswith("+"):
            body = body[1:]
        body = body.removesuffix("%").strip()
    return negative, body


def _strip_currency(body: str) -> str:
    """The text without currency symbols (any Unicode currency sign) or codes (EUR, CHF, Rs.) at its ends."""
    body = _CURRENCY_WORDS.sub("", body.strip()).strip()
    while body and unicodedata.category(body[0]) == "Sc":
        body = body[1:].strip()
    while body and unicodedata.category(body[-1]) == "Sc":
        body = body[:-1].strip()
    return _CURRENCY_WORDS.sub("", body).strip()


def _split_decimal(body: str, decimal: str | None) -> tuple[str, str | None]:
    """(the integer part with its group separators, the digits after the decimal separator or None)."""
    decimal = decimal or _guess_decimal(body)
    if decimal is None or decimal not in body:
        return body, None
    whole, _, fraction = body.rpartition(decimal)
    if decimal in whole:
        raise Unreadable(f"more than one decimal separator '{decimal}'")
    if not fraction.isdigit():
        other = "," if decimal == "." else "."
        reason = (f"'{other}' after the decimal separator '{decimal}'" if other in fraction
                  else f"no digits after the decimal separator '{decimal}'")
        raise Unreadable(reason)
    return whole, fraction


def _guess_decimal(body: str) -> str | None:
    """The decimal separator the text itself proves, None when it has none; Unreadable when it could be
    either a decimal or a thousands separator."""
    marks = [ch for ch in body if ch in ".,"]
    if not marks:
        return None
    if len(set(marks)) == 2:
        return marks[-1]  # 1.234,56 / 1,234.56: the last mark separates the decimals
    mark = marks[0]
    if len(marks) > 1:
        return None  # 1.234.567: only a thousands separator repeats
    whole, _, fraction = body.partition(mark)
    if any(ch in "' " for ch in whole):
        return mark  # 1'234.50, 1 234,50: the grouping is apostrophes or spaces, so the mark is decimal
    ungrouped = whole.strip()
    if len(fraction) != 3 or not ungrouped or ungrouped == "0" or len(ungrouped) > 3:
        return mark  # 3,5 / 0,125 / 1234.567: not a valid thousands group
    raise Unreadable(f"ambiguous: '{mark}' may separate decimals or thousands; "
                     "set decimal_separator or locale")


def _ungroup(whole: str) -> str:
    """The digits of the integer part after checking its grouping: 1,234,567 or 12,34,567 (Indian)."""
    separators = {ch for ch in whole if not ch.isdigit()}
    if not separators:
        return whole
    if len(separators) > 1:
        raise Unreadable(f"mixed thousands separators {''.join(sorted(separators))!r}")
    groups = whole.split(separators.pop())
    if not all(group.isdigit() for group in groups) or not _grouped(groups):
        raise Unreadable("digit groups that are not thousands")
    return "".join(groups)


def _grouped(groups: list[str]) -> bool:
    """Western grouping (1–3 digits, then threes) or Indian (1–2 digits, then twos, then a final three)."""
    head, *middle, last = groups
    if not 1 <= len(head) <= 3 or len(last) != 3:
        return False
    return all(len(group) == 3 for group in middle) or (
        len(head) <= 2 and all(len(group) == 2 for group in middle) and bool(middle))


# --- Dates ---------------------------------------------------------------------------------------

_MONTHS = {name: number for number, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")), start=1) for name in names}
DOTTED_ORDER = "DMY"
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_NUMERIC = re.compile(r"(\d{1,4})\s*([./-])\s*(\d{1,2})\s*\2\s*(\d{1,4})\.?")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\.?[\s-]+([A-Za-z]+)\.?,?[\s-]+(\d{4}|\d{2})")
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")


def parse_date(text: str, value_format: ValueFormat = UNKNOWN) -> str:
    """The date written in text as `YYYY-MM-DD`; Unreadable when unsure.

    ISO dates (a time after them is ignored) and dates with English month names are always certain;
    numeric dates such as 03/12/2026 follow the date order, and without one are read only when day and
    month cannot be swapped (13/12/2026, or the same number twice). Dotted dates (03.12.2026) are
    day-first where no order is set: no region writes month-first with dots."""
    cleaned = " ".join(text.split())
    if found := _ISO.fullmatch(cleaned):
        return _iso(int(found[1]), int(found[2]), int(found[3]))
    if found := _NUMERIC.fullmatch(cleaned):
        order = value_format.date_order or (DOTTED_ORDER if found[2] == "." else None)
        return _numeric_date(found[1], found[3], found[4], order)
    if found := _DAY_MONTH_YEAR.fullmatch(cleaned):
        return _iso(_year(found[3]), _month(found[2]), int(found[1]))
    if found := _MONTH_DAY_YEAR.fullmatch(cleaned):
        return _iso(int(found[3]), _month(found[1]), int(found[2]))
    raise Unreadable()


def _numeric_date(first: str, second: str, third: str, order: str | None) -> str:
    if len(first) == 4 or order == "YMD":
        if len(third) > 2 or (len(first) != 4 and order != "YMD"):
            raise Unreadable()
        return _iso(_year(first), int(second), int(third))
    if len(third) not in (2, 4):
        raise Unreadable()
    a, b, year = int(first), int(second), _year(third)
    if order is None:
        order = _certain_order(a, b)
    day, month = (a, b) if order == "DMY" else (b, a)
    return _iso(year, month, day)


def _certain_order(a: int, b: int) -> str:
    """DMY or MDY when only one reading is a valid day and month; Unreadable when both are."""
    if a == b or (a > 12 >= b):
        return "DMY"
    if b > 12 >= a:
        return "MDY"
    if a > 12 and b > 12:
        raise Unreadable()
    raise Unreadable("ambiguous: day and month could be swapped; set date_order or locale")


def _year(digits: str) -> int:
    """A two-digit year is 1969–2068, as strptime's %y reads it."""
    if len(digits) == 2:
        value = int(digits)
        return 2000 + value if value < 69 else 1900 + value
    return int(digits)


def _month(name: str) -> int:
    month = _MONTHS.get(name.lower())
    if month is None:
        raise Unreadable()
    return month


def _iso(year: int, month: int, day: int) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise Unreadable("no such day") from None
