#!/usr/bin/env python3
"""bench/compare_builds.py - run the same deterministic commands with two
phasetower binaries and report every difference in what they compute.

A restructuring must not change a trained model or a measured accuracy.
This runs a fixed list of train/eval/compose/export/info commands (tower
variants, liquid topology, memories with composition, sparse, routed and
integer inference, de-rotation, OOD, the phasor MLP, TPAM) with each binary
on the same data, on one thread, and compares:
  - checkpoints and exported C files byte for byte,
  - the JSON each command prints, timing fields left out, numbers to 1e-9,
  - and old checkpoints in the new build: every eval, info and
    export of a case is run again by the new binary on the files the old one
    wrote, and must print what the old one printed.
Both binaries must be built on this machine: BLAS kernels and -march=native
differ between CPUs, so results are compared within one machine only.

Usage: bench/compare_builds.py OLD_BIN NEW_BIN [--data DIR] [--full] [--only SUBSTR]
  --full   also the default model on all 60,000 training images (slower)
Exit status 0 when everything matches, 1 otherwise.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

TIMING = ("seconds", "_us", "us_", "images_per_s")


def cases(full):
    lim = ["--train-limit", "10000", "--test-limit", "2000"]
    c = []  # (name, [commands]); a command is a list of args, {OUT} = that binary's work dir
    c.append(("default", [["train", *lim, "--seed", "1", "--json", "--out", "{OUT}/m.safetensors"],
                          ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--json"],
                          ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--sparse", "128:16", "--quantize", "8", "--json"],
                          ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "1000", "--corrupt", "rotate:15-45", "--derotate", "45:7.5:0.03", "--json"],
                          ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--ood", "noise", "--reject-below", "0.3", "--json"],
                          ["info", "--json", "{OUT}/m.safetensors"],
                          ["export", "--model", "{OUT}/m.safetensors", "--out", "{OUT}/x8", "--json"],
                          ["export", "--model", "{OUT}/m.safetensors", "--out", "{OUT}/x16", "--bits", "16", "--json"]]))
    c.append(("seed2-val", [["train", *lim, "--seed", "2", "--val", "2000", "--json", "--out", "{OUT}/m.safetensors"]]))
    c.append(("pixels-route", [["train", *lim, "--layers", "1024:0.015625", "--subspace", "0", "--route-rank", "32", "--json", "--out", "{OUT}/m.safetensors"],
                               ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--route", "12:200:24", "--json"],
                               ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--quantize", "16", "--json"]]))
    c.append(("paper-recipe", [["train", *lim, "--layers", "512:0.08,256:0.05,128:0.03", "--subspace", "0", "--rule", "paper",
                                "--eta-phase", "0.05", "--select", "hard", "--readout", "code", "--json", "--out", "{OUT}/m.safetensors"]]))
    c.append(("two-blocks-phase", [["train", *lim, "--layers", "512:0.03,256:0.05", "--eta-phase", "0.05", "--json", "--out", "{OUT}/m.safetensors"],
                                   ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--sparse", "32:8", "--json"]]))
    c.append(("delta-random", [["train", *lim, "--layers", "512:0.05", "--readout", "delta", "--init", "random", "--json", "--out", "{OUT}/m.safetensors"]]))
    c.append(("liquid-clone", [["train", *lim, "--layers", "512:0.05", "--births", "--deaths", "--death-steps", "1500", "--json", "--out", "{OUT}/m.safetensors"]]))
    c.append(("liquid-sample", [["train", *lim, "--layers", "512:0.05", "--births", "--deaths", "--birth-init", "sample", "--birth-tau", "0.8",
                                 "--death-steps", "1000", "--eta-phase", "0.02", "--json", "--out", "{OUT}/m.safetensors"]]))
    c.append(("memory-sparse", [["train", *lim, "--memory", "all", "--json", "--out", "{OUT}/m.safetensors"],
                                ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--corrupt", "noise:0.3", "--ood", "noise", "--json"],
                                ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "1000", "--derotate", "30:10:0.3", "--derotate-score", "memory", "--json"],
                                ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--quantize", "8", "--json"],
                                ["export", "--model", "{OUT}/m.safetensors", "--out", "{OUT}/xm", "--memory", "--json"],
                                ["info", "--json", "{OUT}/m.safetensors"]]))
    c.append(("memory-novel-wrong", [["train", *lim, "--memory", "novel", "--memory-tau", "0.8", "--memory-size", "3000", "--memory-vote", "weighted", "--json", "--out", "{OUT}/m.safetensors"],
                                     ["train", *lim, "--memory", "wrong", "--memory-alpha", "0.01", "--json", "--out", "{OUT}/w.safetensors"],
                                     ["eval", "--model", "{OUT}/w.safetensors", "--test-limit", "2000", "--json"]]))
    c.append(("memory-heldout", [["train", *lim, "--classes", "0-4", "--memory", "all", "--json", "--out", "{OUT}/m.safetensors"],
                                 ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--classes", "0-4", "--ood", "heldout", "--json"]]))
    c.append(("memory-frame-compose", [["train", *lim, "--memory", "all", "--memory-code", "dense", "--memory-key", "frame", "--memory-size", "12000", "--json", "--out", "{OUT}/m.safetensors"],
                                       ["compose", "--model", "{OUT}/m.safetensors", "--a", "1", "--b", "3", "--name", "1+3", "--pairs", "10000", "--tau", "1", "--fanout", "3", "--guard", "2"],
                                       ["compose", "--model", "{OUT}/m.safetensors", "--a", "1+3", "--b", "5", "--name", "(1+3)+5", "--pairs", "200", "--tau", "1"],
                                       ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--composite", "1+3", "--json"],
                                       ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--composite", "(1+3)+5", "--json"],
                                       ["info", "--json", "{OUT}/m.safetensors"]]))
    c.append(("memory-dense-sketch", [["train", *lim, "--memory", "all", "--memory-code", "dense", "--memory-size", "12000", "--json", "--out", "{OUT}/m.safetensors"],
                                      ["compose", "--model", "{OUT}/m.safetensors", "--a", "2", "--b", "4", "--name", "2+4", "--pairs", "300", "--tau", "1"],
                                      ["eval", "--model", "{OUT}/m.safetensors", "--test-limit", "2000", "--composite", "2+4", "--json"]]))
    c.append(("corrupt-set", [["corrupt", "--corrupt", "rotate:15-45", "--test-limit", "500", "--out", "{OUT}/cor"]]))
    c.append(("phasor", [["train", "--model", "phasor", *lim, "--hidden", "64", "--epochs", "1", "--json", "--out", "{OUT}/p.safetensors"],
                         ["train", "--model", "phasor", *lim, "--hidden", "32", "--depth", "2", "--act", "modrelu", "--epochs", "1", "--json", "--out", "{OUT}/q.safetensors"],
                         ["eval", "--model", "{OUT}/p.safetensors", "--test-limit", "500", "--spiking", "16", "--json"],
                         ["info", "--json", "{OUT}/q.safetensors"]]))
    c.append(("tpam", [["tpam", "--n", "200", "--k", "10", "--patterns", "10,40", "--cues", "10", "--json"]]))
    if full:
        c.append(("full-default", [["train", "--seed", "1", "--json", "--out", "{OUT}/m.safetensors"]]))
    return c


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not any(t in k for t in TIMING)}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def close(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= 1e-9 + 1e-7 * abs(b)
    return a == b


def run(binary, args, out, data):
    args = [a.replace("{OUT}", out) for a in args]
    if args[0] in ("train", "eval", "corrupt"):
        args = [args[0], "--data", data] + args[1:]
    if args[0] == "train" and "--quiet" not in args:
        args.append("--quiet")
    p = subprocess.run([binary] + args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def files(d):
    r = {}
    for root, _, fs in os.walk(d):
        for f in fs:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                r[os.path.relpath(p, d)] = fh.read()
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    env_threads = {"OPENBLAS_NUM_THREADS": "1"}
    os.environ.update(env_threads)
    bad = 0
    tmp = tempfile.mkdtemp(prefix="phasetower-compare.")
    try:
        for name, cmds in cases(a.full):
            if a.only and a.only not in name:
                continue
            # both binaries work in the same directory, one after the other, so
            # paths written into outputs (the export's banner) are the same
            work, outs, dirs = os.path.join(tmp, name, "work"), {}, {}
            for tag, b in (("old", a.old), ("new", a.new)):
                os.makedirs(work)
                outs[tag] = [run(b, args, work, a.data) for args in cmds]
                dirs[tag] = os.path.join(tmp, name, tag)
                os.rename(work, dirs[tag])
            diffs = []
            for args, ro, rn in zip(cmds, outs["old"], outs["new"]):
                what = " ".join(args[:3])
                if ro[0] != rn[0]:
                    diffs.append(f"{what}: exit {ro[0]} vs {rn[0]} ({ro[2].strip()} | {rn[2].strip()})")
                    continue
                if ro[0] != 0:
                    diffs.append(f"{what}: both failed: {ro[2].strip()}")
                    continue
                if "--json" in args:
                    jo = [strip(json.loads(l)) for l in ro[1].splitlines() if l.strip()]
                    jn = [strip(json.loads(l)) for l in rn[1].splitlines() if l.strip()]
                    if not close(jo, jn):
                        for x, y in zip(jo, jn):
                            for k in sorted(set(x) | set(y)):
                                if not close(x.get(k), y.get(k)):
                                    diffs.append(f"{what}: {k}: {x.get(k)} vs {y.get(k)}")
            # the new binary on the old binary's files (in the old directory's place)
            cross = [i for i, args in enumerate(cmds) if args[0] in ("eval", "info", "export")]
            if cross:
                shutil.copytree(dirs["old"], work)
                for i in cross:
                    rc = run(a.new, cmds[i], work, a.data)
                    ro, what = outs["old"][i], "old file: " + " ".join(cmds[i][:3])
                    if rc[0] != ro[0]:
                        diffs.append(f"{what}: exit {ro[0]} vs {rc[0]} ({rc[2].strip()})")
                    elif "--json" in cmds[i] and not close([strip(json.loads(l)) for l in ro[1].splitlines() if l.strip()],
                                                          [strip(json.loads(l)) for l in rc[1].splitlines() if l.strip()]):
                        diffs.append(f"{what}: different output")
                fc, fo_ = files(work), files(dirs["old"])
                for f in sorted(set(fc) | set(fo_)):
                    if fc.get(f) != fo_.get(f):
                        diffs.append(f"old file: {f} differs after the new binary's compose/export")
                shutil.rmtree(work)
            fo, fn = files(dirs["old"]), files(dirs["new"])
            for f in sorted(set(fo) | set(fn)):
                if fo.get(f) != fn.get(f):
                    diffs.append(f"file {f} differs" if f in fo and f in fn else f"file {f} only in {'old' if f in fo else 'new'}")
            print(f"{'ok  ' if not diffs else 'DIFF'} {name}")
            for d in diffs:
                print(f"     {d}")
            bad += bool(diffs)
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{bad} case(s) differ" if bad else "all cases identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
