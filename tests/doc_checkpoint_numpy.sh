#!/usr/bin/env bash
# docs/checkpoint-format.md promises that numpy reads a checkpoint in a few
# lines. Run that very snippet (extracted from the doc) on a freshly trained
# two-block model with an episodic memory and check what it returns against
# `phasetower info --json`.
# Skips (exit 77) when Debian's python3 has no numpy.
set -euo pipefail
bin=$1
doc=$2
py=/usr/bin/python3
"$py" -c 'import numpy' 2>/dev/null || { echo "skip: $py has no numpy"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/idx_gen.sh"
mkset "$tmp/d" 100 20
"$bin" train --data "$tmp/d" --layers 32:0.2,16:0.25 --seed 5 --memory all --memory-size 40 --memory-dim 8 \
    --out "$tmp/m.safetensors" > /dev/null
"$bin" info --json "$tmp/m.safetensors" > "$tmp/info.json"
DOC=$doc MODEL=$tmp/m.safetensors INFO=$tmp/info.json "$py" - <<'PY'
import json, os, re
text = open(os.environ["DOC"]).read()
snippet = re.search(r"```python\n(.*?)```", text, re.S).group(1)
snippet = snippet.replace('"model.safetensors"', repr(os.environ["MODEL"]))
ns = {}
exec(snippet, ns)                       # prints one line, as in the doc
meta, w, info = ns["meta"], ns["w"], json.load(open(os.environ["INFO"]))
assert meta["layers"] == info["layers"] == "32:0.2,16:0.25", meta["layers"]
assert meta["subspace"] == "56" and w["subspace"].shape == (56, 400)   # the default for 400 pixels
assert w["block0.p"].shape == (32, 56) and w["block1.p"].shape == (16, 64)
assert str(w["codebook"].dtype) == "complex64" and w["codebook"].shape == (10, 16)
assert w["block1.targets"].shape == (10, 16) and isinstance(w["block1.lambda"], complex)
params = sum(w[f"block{l}.p"].size + w[f"block{l}.phi"].size for l in (0, 1)) + 2 + 2 * w["codebook"].size
params += w["subspace"].size
assert params == info["params"], (params, info["params"])
lam = info["skip"][0]
assert abs(w["block1.lambda"] - complex(lam[0], lam[1])) < 1e-6
mem = info["memory"]
assert w["memory.keys"].shape == (40, 8) and str(w["memory.keys"].dtype) == "complex64"
assert w["memory.labels"].dtype.kind == "i" and (w["memory.labels"] >= 0).sum() == mem["slots"]
assert w["memory.proj"].shape == (16, 8)
print("ok: the doc's numpy reader matches phasetower info:", params, "parameters,", mem["slots"], "memory slots")
PY
