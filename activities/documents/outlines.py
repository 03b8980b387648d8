"""Words drawn as outlines (SVG paths) instead of text: the DRAF watermark across a page and
the CONTOH of the demo emblem are pictures, so that text extraction (archive search, screen
readers, pdftotext) reads the document without stray letters between its words.

The outlines are those of DejaVu Sans Bold, the font every sopflow machine has
(fonts-dejavu-core); without it the word is left as text.
"""

import base64
import functools
from pathlib import Path

from fontTools.pens.svgPathPen import SVGPathPen
from fontTools.pens.transformPen import TransformPen
from fontTools.ttLib import TTFont

FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/local/share/fonts/DejaVuSans-Bold.ttf",
)


@functools.cache
def _font():
    for path in FONT_PATHS:
        if Path(path).exists():
            return TTFont(path)
    return None


def word_path(word, size, *, spacing=0.0):
    """(SVG path data, width, height) of `word` at `size` units, its baseline at `size`; None
    when the font is missing."""
    font = _font()
    if font is None:
        return None
    glyphs = font.getGlyphSet()
    cmap = font.getBestCmap()
    scale = size / font["head"].unitsPerEm
    pen = SVGPathPen(glyphs)
    x = 0.0
    for char in word:
        name = cmap.get(ord(char))
        if name is None:
            continue
        glyphs[name].draw(TransformPen(pen, (scale, 0, 0, -scale, x, size)))
        x += glyphs[name].width * scale + spacing
    return pen.getCommands(), x - spacing, size * 1.25


@functools.cache
def watermark_uri(word, color="rgba(190,0,0,0.12)"):
    """A data URI of an SVG drawing `word` in outlines, for the watermark across a page, or ""."""
    drawn = word_path(word, 100, spacing=20)
    if drawn is None:
        return ""
    path, width, height = drawn
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.1f} {height:.1f}" '
        f'aria-hidden="true"><path d="{path}" fill="{color}"/></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
