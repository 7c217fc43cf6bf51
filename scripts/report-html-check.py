#!/usr/bin/env python3
"""Checks a screenshot of the report page (`leadledger report --html`) for its charts.

Usage: report-html-check.py SCREENSHOT.png [chart ...]

Each chart's first series is drawn in a colour no other part of the page uses
(`SIGNATURES` in crates/cli/src/report/html.rs); a chart is there when at least MIN_PIXELS
pixels of the screenshot have exactly that colour. Without chart names, every chart is
required. Standard library only: the PNG is decoded here (8-bit RGB or RGBA, not
interlaced: what Chromium writes).
"""
import struct
import sys
import zlib

# Keep in step with SIGNATURES in crates/cli/src/report/html.rs.
SIGNATURES = {
    "funnel": (0x1F, 0x6F, 0xEB),
    "velocity": (0x2D, 0xA4, 0x4E),
    "attribution": (0xCF, 0x22, 0x2E),
    "sla": (0xBF, 0x87, 0x00),
    "revenue": (0x82, 0x50, 0xDF),
    "cohorts": (0x0A, 0x7E, 0xA4),
    "roi": (0x7D, 0x4E, 0x00),
}
# A legend swatch alone is 12 x 12 = 144 pixels: a chart must show more than its legend.
MIN_PIXELS = 400


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        raise SystemExit(f"{path}: unsupported PNG (depth {depth}, colour type {color})")
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    path, wanted = sys.argv[1], sys.argv[2:] or list(SIGNATURES)
    width, height, bpp, rows = decode(path)
    counts = {name: 0 for name in wanted}
    colours = {SIGNATURES[name]: name for name in wanted}
    for line in rows:
        for x in range(0, len(line), bpp):
            name = colours.get((line[x], line[x + 1], line[x + 2]))
            if name:
                counts[name] += 1
    missing = [n for n, c in counts.items() if c < MIN_PIXELS]
    summary = ", ".join(f"{n} {c} px" for n, c in counts.items())
    print(f"report-html-check: {path} ({width}x{height}): {summary}")
    if missing:
        raise SystemExit(f"report-html-check: charts missing from the screenshot: {missing}")


if __name__ == "__main__":
    main()
