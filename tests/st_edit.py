#!/usr/bin/env python3
"""Rewrite metadata entries of a safetensors file, for the bad-input tests:
st_edit.py IN OUT key=value [key=value ...] (value '-' deletes the key).
The tensors are kept byte for byte; only the JSON header and its length change."""
import json
import struct
import sys

if len(sys.argv) < 4:
    sys.exit(__doc__)
src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(src, "rb") as f:
    blob = f.read()
(n,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + n])
meta = header.setdefault("__metadata__", {})
for e in edits:
    key, _, value = e.partition("=")
    if value == "-":
        meta.pop(key, None)
    else:
        meta[key] = value
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + blob[8 + n:])
