"""png_check.py PNG: checks that a screenshot of the sample chart shows a chart.

Decodes the PNG with the standard library only (8-bit RGB/RGBA, not interlaced: what Chromium
writes) and fails unless the picture is 1200x900, mostly but not all white, holds many colours,
and shows the heatmap: coloured cells and the yellow top of the colour scale (the best cell and
the legend's end).
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif f == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line
    pixels = []
    for line in rows:
        pixels.extend(tuple(line[i:i + 3]) for i in range(0, stride, bpp))
    return width, height, pixels


def main():
    width, height, pixels = decode(sys.argv[1])
    total = len(pixels)
    white = sum(1 for p in pixels if p == (255, 255, 255))
    colours = len(set(pixels))
    coloured = sum(1 for p in pixels if max(p) - min(p) > 60)
    yellow = sum(1 for r, g, b in pixels if abs(r - 0xFD) < 12 and abs(g - 0xE7) < 12 and b < 0x50)
    print(f"png_check: {width}x{height}, {colours} colours, white {white / total:.0%}, "
          f"coloured {coloured / total:.0%}, top-of-scale yellow {yellow} px")
    failures = []
    if (width, height) != (1200, 900):
        failures.append("size is not 1200x900")
    if not 0.2 < white / total < 0.97:
        failures.append("white background share out of range")
    if colours < 50:
        failures.append("too few colours for a heatmap with text")
    if coloured / total < 0.05:
        failures.append("too few coloured pixels: no heatmap cells")
    if yellow < 1000:
        failures.append("the top of the colour scale (best cell, legend) is missing")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
