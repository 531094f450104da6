"""The Prometheus text format (0.0.4) of our counters and histograms, written here because a scrape must be
cheap (docs/OBSERVABILITY.md, Costs).

prometheus_client builds a Metric and a Sample object for every series on every scrape and formats each
label set anew — about 7 µs a series here, 7 ms for a host's 1,000 series, and 20 ms when it merges three
processes' files. This module builds the text of a series' name and labels once (cached by
series) and a scrape only reads values, adds them up and formats numbers. The lines are the library's,
byte for byte (tests/test_metrics_text.py compares them across real processes).

Two sources, as in prometheus_client:
- one process (`PROMETHEUS_MULTIPROC_DIR` unset): the metric objects' values, read through attributes the
  library does not promise (`_metrics`, `_value`, `_buckets`, `_sum`); a metric whose shape differs falls
  back to the library's own exposition, so an upgrade can make a scrape slower, never wrong.
- every process of a host (multiprocess mode): the `counter_<pid>.db` / `histogram_<pid>.db` files,
  summed, buckets made cumulative as the library does. Any other kind of file (a gauge's) makes the whole
  scrape use the library's collector, with a warning: we define no gauges there.

Import this module only where a scrape happens (unstract/metrics.py does, in `exposition`): it imports
prometheus_client, which picks its storage on import, before `unstract serve` may have chosen it.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.utils import floatToGoString  # numbers as Go writes them: +Inf, 1e+06

SUMMED_FILE_KINDS = ("counter", "histogram")
CACHE_LIMIT = 100_000  # series texts kept; a host has about a thousand, so this only bounds a label leak


@dataclass
class Family:
    """One metric family as exposed: `name` as in the HELP line (counters end in `_total`)."""

    name: str
    type: str
    help: str
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        help_text = self.help.replace("\\", r"\\").replace("\n", r"\n")
        return f"# HELP {self.name} {help_text}\n# TYPE {self.name} {self.type}\n" + "".join(self.lines)


def exposed_name(name: str, kind: str) -> str:
    """A family's name in the text format: prometheus_client names a counter without `_total` internally."""
    return name + "_total" if kind == "counter" else name


def cumulative_lines(texts: Iterable[str], counts: Iterable[float], count_text: str) -> list[str]:
    """A histogram's bucket lines from each bucket's text and its own count, lowest bound first: each line
    counts every observation up to its bound; then the `_count` line."""
    lines, total = [], 0.0
    for text, count in zip(texts, counts, strict=True):
        total += count
        lines.append(f"{text}{floatToGoString(total)}\n")
    lines.append(f"{count_text}{floatToGoString(total)}\n")
    return lines


def series_text(sample_name: str, labels: Iterable[tuple[str, str]]) -> str:
    """`name{a="x",b="y"} ` (labels sorted by name, values escaped), ready for the value."""
    pairs = ",".join(f'{name}="{_escape(value)}"' for name, value in sorted(labels))
    return f"{sample_name}{{{pairs}}} " if pairs else f"{sample_name} "


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _remember(cache: dict, key, value):
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


# --- One process ---------------------------------------------------------------------------------

_child_texts: dict[tuple, tuple[str, ...]] = {}


def process_text(metric) -> str:
    """The text of one counter or histogram of this process (the library's for anything else)."""
    described = metric.describe()[0]
    try:
        lines_of = {"counter": _counter_lines, "histogram": _histogram_lines}.get(described.type)
        if lines_of is None:
            return generate_latest(metric).decode()
        family = Family(exposed_name(described.name, described.type), described.type, described.documentation,
                        lines_of(metric, described.name))
    except AttributeError:  # prometheus_client keeps its values elsewhere now: its own (slower) text
        return generate_latest(metric).decode()
    return family.text()


def _children(metric) -> list[tuple[tuple[str, ...], object]]:
    if not metric._labelnames:
        return [((), metric)]
    with metric._lock:  # label sets can be added by other threads while we read
        return list(metric._metrics.items())


def _counter_lines(metric, name: str) -> list[str]:
    lines = []
    for values, child in _children(metric):
        key = (name, values)
        texts = _child_texts.get(key) or _remember(
            _child_texts, key, (series_text(name + "_total", zip(metric._labelnames, values, strict=True)),))
        lines.append(f"{texts[0]}{floatToGoString(child._value.get())}\n")
    return lines


def _histogram_lines(metric, name: str) -> list[str]:
    lines = []
    for values, child in _children(metric):
        key = (name, values)
        texts = _child_texts.get(key) or _remember(_child_texts, key, _histogram_texts(metric, name, values))
        *bucket_texts, count_text, sum_text = texts
        lines += cumulative_lines(bucket_texts, [bucket.get() for bucket in child._buckets], count_text)
        if metric._upper_bounds[0] >= 0:  # as the library: no sum when observations may be negative
            lines.append(f"{sum_text}{floatToGoString(child._sum.get())}\n")
    return lines


def _histogram_texts(metric, name: str, values: tuple[str, ...]) -> tuple[str, ...]:
    labels = list(zip(metric._labelnames, values, strict=True))
    buckets = [series_text(name + "_bucket", [*labels, ("le", floatToGoString(bound))])
               for bound in metric._upper_bounds]
    return (*buckets, series_text(name + "_count", labels), series_text(name + "_sum", labels))


# --- Every process of a host (multiprocess files) ------------------------------------------------
#
# A process appends a key to its file the first time it uses a label set and afterwards only rewrites
# values in place. So where a file keeps each value is parsed once (a _Layout, extended when the file
# grows) and a scrape reads all of a file's values with one struct call; what to write for the keys of
# all files (the plan) is built once per set of layouts. A scrape is then one read per file, one sum per
# value and one line per series.

INT = struct.Struct("i")  # prometheus_client's header and key lengths: native int


@dataclass(frozen=True)
class _Series:
    """One key of the files: sample `name`, `labels` but `le`, `le` (a bucket's bound, else None), and its
    metric (`family` as named in the files, counters without `_total`), file `kind` and `help`."""

    family: str
    kind: str
    help: str
    name: str
    labels: tuple[tuple[str, str], ...]
    le: float | None


_positions: dict[tuple[str, bytes], int] = {}  # (kind, key) -> position in _series and in a scrape's sums
_series: list[_Series] = []


def _position(kind: str, key: bytes) -> int:
    position = _positions.get((kind, key))
    if position is None:
        family, name, labels, help_text = json.loads(key)
        le = labels.pop("le", None)
        _series.append(_Series(family, kind, help_text, name, tuple(labels.items()), None if le is None else float(le)))
        position = _positions[(kind, key)] = len(_series) - 1
    return position


@dataclass
class _Layout:
    """Where one file keeps its values: `positions[i]` is the series of the i-th value, read by `reader`."""

    kind: str
    used: int = 8  # bytes of entries parsed so far (the file's header is 8 bytes)
    positions: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    last_key: tuple[int, bytes] = (0, b"")  # (offset, bytes) of the last key: a replaced file differs there
    reader: struct.Struct = struct.Struct("")

    def fits(self, data: bytes, used: int) -> bool:
        at, key = self.last_key
        return used >= self.used and data[at:at + len(key)] == key

    def extend(self, data: bytes, used: int) -> None:
        """Parse the entries appended since the last scrape (format: prometheus_client's mmap_dict)."""
        pos = self.used
        while pos < used:
            length = INT.unpack_from(data, pos)[0]
            if pos + 4 + length > used:
                raise RuntimeError("Read beyond file size detected, file is corrupted.")
            key = data[pos + 4:pos + 4 + length]
            self.last_key = (pos + 4, key)
            pos += 4 + length + (8 - (length + 4) % 8)
            self.positions.append(_position(self.kind, key))
            self.offsets.append(pos)
            pos += 16  # the value and a timestamp
        self.used = used
        fields, previous_end = [], 0
        for offset in self.offsets:  # skip to each value, read it as a double
            fields.append(f"{offset - previous_end}xd")
            previous_end = offset + 8
        self.reader = struct.Struct("=" + "".join(fields))


_layouts: dict[str, _Layout] = {}
_plan: tuple[tuple, list] = ((), [])
_scrape_lock = threading.Lock()


def host_text(directory: Path, defined: Iterable = ()) -> str | None:
    """Every process's counters and histograms of this host, summed; with an empty family (HELP and TYPE, no
    sample) for each `defined` metric no process has recorded yet: the files hold only label sets that were
    used, and a scraper should see every family from the start. None when the directory holds another kind
    of file (SUMMED_FILE_KINDS): the caller then uses the library's collector."""
    global _layouts
    with _scrape_lock:  # the caches are shared by the server's threads
        if len(_series) > CACHE_LIMIT:
            _forget_everything()
        layouts, values = {}, []
        paths = sorted(directory.glob("*.db"))
        if any(path.name.split("_", 1)[0] not in SUMMED_FILE_KINDS for path in paths):
            return None
        for path in paths:
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # removed since the listing
                continue
            used = INT.unpack_from(data, 0)[0] if len(data) >= 8 else 8
            layout = _layouts.get(path.name)
            if layout is None or layout.kind != path.name.split("_", 1)[0] or not layout.fits(data, used):
                layout = _Layout(path.name.split("_", 1)[0])
            if used > layout.used:
                layout.extend(data, used)
            layouts[path.name] = layout
            values.append((layout.positions, layout.reader.unpack_from(data)))
        _layouts = layouts
        sums = [0.0] * len(_series)
        for positions, file_values in values:
            for position, value in zip(positions, file_values, strict=True):
                sums[position] += value
        return _render(_current_plan(layouts, list(defined)), sums)


def _forget_everything() -> None:
    global _layouts, _plan
    _positions.clear()
    _series.clear()
    _layouts, _plan = {}, ((), [])


def _current_plan(layouts: dict[str, _Layout], defined: list) -> list:
    global _plan
    key = (tuple((name, len(layout.positions)) for name, layout in layouts.items()), tuple(map(id, defined)))
    if _plan[0] != key:
        present = sorted({position for layout in layouts.values() for position in layout.positions})
        _plan = (key, _build_plan(present, defined))
    return _plan[1]


def _build_plan(present: list[int], defined: list) -> list:
    """[(HELP and TYPE text, [(line text, series)], [([bucket text], [bucket series], count text)])] by
    family."""
    families: dict[str, tuple[str, list, dict]] = {}
    for position in present:
        series = _series[position]
        exposed = exposed_name(series.family, series.kind)
        _header, plain, histograms = families.setdefault(
            exposed, (Family(exposed, series.kind, series.help).text(), [], {}))
        if series.le is None:
            plain.append((series_text(series.name, series.labels), position))
        else:
            text = series_text(series.family + "_bucket", [*series.labels, ("le", floatToGoString(series.le))])
            histograms.setdefault(series.labels, []).append((series.le, text, position))
    for metric in defined:
        described = metric.describe()[0]
        exposed = exposed_name(described.name, described.type)
        families.setdefault(exposed, (Family(exposed, described.type, described.documentation).text(), [], {}))
    plan = []
    for exposed in sorted(families):
        header, plain, histograms = families[exposed]
        buckets = [([text for _le, text, _position in sorted(bounds)],
                    [position for _le, _text, position in sorted(bounds)],
                    series_text(exposed + "_count", labels)) for labels, bounds in sorted(histograms.items())]
        plan.append((header, sorted(plain), buckets))
    return plan


def _render(plan: list, sums: list[float]) -> str:
    out = []
    for header, plain, histograms in plan:
        out.append(header)
        out.extend(f"{text}{floatToGoString(sums[position])}\n" for text, position in plain)
        for texts, positions, count_text in histograms:
            out += cumulative_lines(texts, [sums[position] for position in positions], count_text)
    return "".join(out)
