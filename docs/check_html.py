"""Check the built documentation: every image a page shows exists and decodes, and
(where Debian's ``chromium`` is installed) a headless browser renders the gallery pages
with their figures. ``make docs`` runs it after the build.

    python docs/check_html.py [docs/_build/html]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from PIL import Image


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            src = dict(attrs).get("src") or ""
            if src and not re.match(r"^(https?:|data:)", src):
                self.sources.append(src.split("#")[0].split("?")[0])


def check_images(root: Path) -> int:
    """Every local ``<img>`` of every page exists and decodes; the number checked."""
    checked = 0
    for page in root.rglob("*.html"):
        parser = _Images()
        parser.feed(page.read_text(encoding="utf-8"))
        for src in parser.sources:
            path = (page.parent / src).resolve()
            if not path.is_file():
                raise SystemExit(f"{page.relative_to(root)}: image {src} is missing")
            if path.suffix.lower() != ".svg":
                with Image.open(path) as im:
                    im.verify()
            checked += 1
    return checked


def _figure_area(rgb: np.ndarray) -> float:
    """Share of 8x8 blocks with no near-white pixel: images, not text on white or code
    on its light grey."""
    dark = rgb.min(axis=-1) < 235
    h, w = (dark.shape[0] // 8) * 8, (dark.shape[1] // 8) * 8
    blocks = dark[:h, :w].reshape(h // 8, 8, w // 8, 8).all(axis=(1, 3))
    return float(blocks.mean())


def check_in_browser(root: Path, out: Path) -> list[Path]:
    """Screenshots of the gallery pages in headless Chromium; on each, figures must
    cover at least 1 % of the page (text-only pages measure about 0.03 %)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("check_html: chromium not installed; browser check skipped")
        return []
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    for page in sorted((root / "auto_examples").glob("plot_*.html")):
        shot = out / f"{page.stem}.png"
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1280,4000", f"--screenshot={shot}", page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        share = _figure_area(np.asarray(Image.open(shot).convert("RGB")))
        if share < 0.01:
            raise SystemExit(f"{page.name}: figures cover {share:.2%} of the rendered page")
        shots.append(shot)
    return shots


def main(argv: list[str]) -> None:
    root = Path(argv[0] if argv else "docs/_build/html")
    if not (root / "index.html").is_file():
        raise SystemExit(f"{root} holds no built documentation; run make docs")
    print(f"check_html: {check_images(root)} images on {root} exist and decode")
    shots = check_in_browser(root, root.parent / "screenshots")
    if shots:
        print(f"check_html: {len(shots)} gallery pages rendered in Chromium: {shots[0].parent}")


if __name__ == "__main__":
    main(sys.argv[1:])
