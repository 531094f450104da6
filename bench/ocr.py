"""OCR of scanned PDFs through the tool process: pages per second and the tool process's peak memory
(docs/PERFORMANCE.md, "OCR of scanned PDFs").

Generates image-only PDFs (text pages drawn with Pillow, saved as JPEG-compressed scans, as a scanner
would), runs `text_extractor` on each in a fresh tool process exactly as a worker does (same runner, same
timeout setting) and reads the process's peak resident memory (VmHWM) from /proc.

    .venv/bin/python -m bench.ocr                          # 10 and 50 pages at 300 dpi
    .venv/bin/python -m bench.ocr --pages 50 --dpi 150,300 --json /tmp/ocr.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import time
from dataclasses import asdict, dataclass

from PIL import Image, ImageDraw, ImageFont

from unstract.config import read_settings
from unstract.tools import ToolLimits
from unstract.worker.toolrunner import ToolRunner

SCAN_DPI = 200  # what office scanners default to
A4_INCHES = (8.27, 11.69)
LINES_PER_PAGE = 38
WORDS = ("invoice total amount due date payment customer order number account balance service "
         "delivery quantity price discount shipping address reference contract period tax net gross "
         "supplier terms item description unit subtotal remittance bank transfer").split()


@dataclass
class Figures:
    pages: int
    dpi: int
    pdf_bytes: int
    seconds: float
    pages_per_second: float
    seconds_per_page: float
    cpu_seconds: float
    peak_rss_mib: float
    idle_rss_mib: float
    rss_after_mib: float  # once the call is over and the process has trimmed its heap
    words_found: float  # share of the drawn words that came back, in order-free comparison
    chars: int
    ocr_pages: int


def page_lines(rng: random.Random, page: int) -> list[str]:
    """An invoice-like page: a heading, then lines of words and amounts."""
    lines = [f"Invoice INV-{page:04d}  page {page}"]
    for _ in range(LINES_PER_PAGE - 1):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 9)))
        lines.append(f"{words} {rng.randint(1, 9999)}.{rng.randint(0, 99):02d}")
    return lines


def scanned_page(lines: list[str]) -> Image.Image:
    """An A4 page at SCAN_DPI with 11 pt text, slightly grey paper, as a flatbed scan looks."""
    size = (round(A4_INCHES[0] * SCAN_DPI), round(A4_INCHES[1] * SCAN_DPI))
    image = Image.new("L", size, 245)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=round(11 / 72 * SCAN_DPI))
    step = (size[1] - 2 * SCAN_DPI) // LINES_PER_PAGE
    for index, line in enumerate(lines):
        draw.text((SCAN_DPI, SCAN_DPI + index * step), line, font=font, fill=20)
    return image


def scanned_pdf(pages: int, seed: int = 7) -> tuple[bytes, list[str]]:
    """An image-only PDF of `pages` pages and the words drawn on it; pages are made one at a time."""
    rng = random.Random(seed)
    texts = [page_lines(rng, page) for page in range(1, pages + 1)]
    buffer = io.BytesIO()

    def images():
        for lines in texts[1:]:
            yield scanned_page(lines)

    scanned_page(texts[0]).save(buffer, "PDF", resolution=SCAN_DPI, save_all=True, append_images=images(),
                                quality=85)
    return buffer.getvalue(), [word for lines in texts for line in lines for word in line.lower().split()]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak) etc. of a process, in kB."""
    with open(f"/proc/{pid}/status") as status:
        return {key: int(value.split()[0]) for key, value in
                (line.split(":", 1) for line in status) if value.strip().endswith("kB")}


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def words_found(drawn: list[str], text: str) -> float:
    """The share of drawn words found in the text (each occurrence counted once)."""
    remaining: dict[str, int] = {}
    for word in re.findall(r"\S+", text.lower()):
        remaining[word] = remaining.get(word, 0) + 1
    found = 0
    for word in drawn:
        if remaining.get(word, 0):
            remaining[word] -= 1
            found += 1
    return found / len(drawn)


def measure(pages: int, dpi: int, mode: str) -> Figures:
    """One run in a fresh tool process: the process's peak memory is that of this file alone."""
    source, drawn = scanned_pdf(pages)
    settings = read_settings()  # as a worker reads them: UNSTRACT_TOOL_TIMEOUT_SECONDS, UNSTRACT_MAX_TEXT_CHARS
    limits = ToolLimits(max_text_chars=settings.max_text_chars)
    runner = ToolRunner()
    try:
        runner.run("text_extractor", b"warm up", "text/plain", None, {}, timeout=60, limits=limits)
        (pid,) = runner.pids()
        idle = proc_status(pid)["VmRSS"]
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        result = runner.run("text_extractor", source, "application/pdf", None, {"mode": mode, "dpi": dpi},
                            timeout=settings.tool_timeout_seconds, limits=limits)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
        # the process trims its heap after replying: the next call is answered only once that is done
        runner.run("text_extractor", b"settled", "text/plain", None, {}, timeout=60, limits=limits)
        status = proc_status(pid)
    finally:
        runner.close()
    output = result.output
    return Figures(pages=pages, dpi=dpi, pdf_bytes=len(source), seconds=round(seconds, 2),
                   pages_per_second=round(pages / seconds, 3), seconds_per_page=round(seconds / pages, 3),
                   cpu_seconds=round(cpu, 2), peak_rss_mib=round(status["VmHWM"] / 1024, 1),
                   idle_rss_mib=round(idle / 1024, 1), rss_after_mib=round(status["VmRSS"] / 1024, 1),
                   words_found=round(words_found(drawn, output["text"]), 4), chars=len(output["text"]),
                   ocr_pages=output["ocr_pages"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", default="10,50", help="page counts, comma-separated")
    parser.add_argument("--dpi", default="300", help="render resolutions, comma-separated")
    parser.add_argument("--mode", default="auto", choices=["auto", "ocr"])
    parser.add_argument("--json", help="write all figures to this file")
    args = parser.parse_args()
    results = []
    for dpi in [int(value) for value in args.dpi.split(",")]:
        for pages in [int(value) for value in args.pages.split(",")]:
            figures = measure(pages, dpi, args.mode)
            results.append(asdict(figures))
            print(json.dumps(asdict(figures)), flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
