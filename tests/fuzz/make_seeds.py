#!/usr/bin/env python3
"""Write the seed corpora of the IDX, spec and PNG fuzz targets:
tests/fuzz/seeds-idx, seeds-spec and seeds-png (committed; run this again
after changing it: python3 tests/fuzz/make_seeds.py). Small valid files of
every kind each reader accepts, so that mutants start past the headers.
Deterministic (gzip without a time stamp), standard library only."""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def out(corpus, name, data):
    d = os.path.join(HERE, "seeds-" + corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def gz(data, name=None):
    """gzip with no time stamp; with name, the FNAME field set too."""
    return gzip.compress(data, mtime=0) if name is None else _gz_named(data, name)


def _gz_named(data, name):
    import io
    b = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=b, mtime=0) as g:
        g.write(data)
    return b.getvalue()


# ---- IDX (tests/idx_gen.sh writes the same format): big-endian magic and
# dimensions, then unsigned bytes
def idx_images(n, rows, cols):
    px = bytes((17 * i + 5 * r + c) % 256 for i in range(n) for r in range(rows) for c in range(cols))
    return struct.pack(">IIII", 0x803, n, rows, cols) + px


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))


def seeds_idx():
    out("idx", "images-3x4x4", idx_images(3, 4, 4))
    out("idx", "images-3x4x4.gz", gz(idx_images(3, 4, 4)))
    out("idx", "images-1x1x1", idx_images(1, 1, 1))
    out("idx", "images-2x7x5.gz", gz(idx_images(2, 7, 5), "train-images-idx3-ubyte"))
    out("idx", "labels-3", idx_labels(3))
    out("idx", "labels-3.gz", gz(idx_labels(3)))
    out("idx", "labels-12", idx_labels(12))
    # two gzip members, as `cat a.gz b.gz` makes: zlib reads them as one stream
    im = idx_images(2, 4, 4)
    out("idx", "images-2x4x4-two-members.gz", gz(im[:20]) + gz(im[20:]))


# ---- spec strings: layer specs, corruptions and the enum names
def seeds_spec():
    specs = {
        "layers-default": "2304:0.015625",
        "layers-one": "16:0.2",
        "layers-two": "1000:0.05,200:0.1",
        "layers-sixteen": ",".join("%d:0.%d" % (k + 1, k + 1) for k in range(16)),
        "layers-thirds": "21:0.8333333",
        "layers-exp": "64:1e-1",
        "layers-max": "1000000:1",
        "rotate": "rotate:10-30",
        "turn": "turn:-45.5",
        "noise": "noise:0.3",
    }
    for i, name in enumerate(["local", "paper", "ridge", "delta", "code", "imprint", "random", "soft",
                              "hard", "mode", "weighted", "sparse", "dense", "all", "wrong", "novel",
                              "unit", "cardioid", "modrelu", "quant"]):
        specs["enum-" + name] = name
    for name, s in specs.items():
        out("spec", name, s)


# ---- PNG: every colour type and bit depth, palettes with and without
# transparency, filters 0-4, Adam7 interlace
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(w, h, depth, ctype, rows, interlace=0, extra=b"", filt=0):
    """rows: list of h lists of samples (ints); packs them at depth."""
    chans = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]

    def pack(row):
        if depth == 16:
            return b"".join(struct.pack(">H", v) for v in row)
        if depth == 8:
            return bytes(row)
        bits = ""
        for v in row:
            bits += format(v, "0%db" % depth)
        bits += "0" * (-len(bits) % 8)
        return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))

    def filtered(lines, bpp):
        raw, prev = b"", None
        for y, line in enumerate(lines):
            f = filt if filt >= 0 else y % 5
            prev = prev if prev is not None else bytes(len(line))
            o = bytearray()
            for i, v in enumerate(line):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                if f == 0:
                    p = 0
                elif f == 1:
                    p = a
                elif f == 2:
                    p = b
                elif f == 3:
                    p = (a + b) // 2
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else b if pb <= pc else c
                o.append((v - p) % 256)
            raw += bytes([f]) + bytes(o)
            prev = line
        return raw

    bpp = max(1, chans * depth // 8)
    if not interlace:
        data = filtered([pack(r) for r in rows], bpp)
    else:  # Adam7: seven passes of sub-images, each filtered on its own
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        data = b""
        for x0, y0, dx, dy in passes:
            sub = [[rows[y][x * chans + k] for x in range(x0, w, dx) for k in range(chans)]
                   for y in range(y0, h, dy)]
            if sub and sub[0]:
                data += filtered([pack(r) for r in sub], bpp)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(data, 9))
            + chunk(b"IEND", b""))


def samples(w, h, chans, top):
    step = top // 40 + 1  # spread over the whole range, so that 16-bit samples keep a high byte
    return [[(3 * x + 5 * y + 7 * k) * step % (top + 1) for x in range(w) for k in range(chans)] for y in range(h)]


def seeds_png():
    w, h = 5, 4
    for depth in (1, 2, 4, 8, 16):
        out("png", "gray%d" % depth, png(w, h, depth, 0, samples(w, h, 1, 2 ** depth - 1)))
    for depth in (8, 16):
        out("png", "rgb%d" % depth, png(w, h, depth, 2, samples(w, h, 3, 2 ** depth - 1)))
        out("png", "gray-alpha%d" % depth, png(w, h, depth, 4, samples(w, h, 2, 2 ** depth - 1)))
        out("png", "rgba%d" % depth, png(w, h, depth, 6, samples(w, h, 4, 2 ** depth - 1)))
    plte = chunk(b"PLTE", bytes(range(0, 48)))  # 16 entries
    for depth in (1, 2, 4, 8):
        out("png", "palette%d" % depth, png(w, h, depth, 3, samples(w, h, 1, min(15, 2 ** depth - 1)), extra=plte))
    out("png", "palette-trns", png(w, h, 4, 3, samples(w, h, 1, 15), extra=plte + chunk(b"tRNS", bytes(range(0, 255, 32)))))
    out("png", "gray-trns-gama", png(w, h, 8, 0, samples(w, h, 1, 255),
                                     extra=chunk(b"gAMA", struct.pack(">I", 45455)) + chunk(b"tRNS", b"\x00\x10")))
    out("png", "rgb-filters", png(7, 6, 8, 2, samples(7, 6, 3, 255), filt=-1))
    out("png", "gray-interlaced", png(9, 9, 8, 0, samples(9, 9, 1, 255), interlace=1))
    out("png", "rgb-interlaced", png(3, 3, 8, 2, samples(3, 3, 3, 255), interlace=1))
    out("png", "one-pixel", png(1, 1, 8, 0, [[200]], extra=chunk(b"tEXt", b"Comment\x00seed")))
    # regression: an sPLT chunk declaring 1.6 GB, for which libpng allocated before reading
    out("png", "splt-larger-than-file", png(3, 3, 8, 0, samples(3, 3, 1, 255))[:33]
        + struct.pack(">I", 0x6348524D) + b"sPLTpalette\x00\x08")


if __name__ == "__main__":
    seeds_idx()
    seeds_spec()
    seeds_png()
