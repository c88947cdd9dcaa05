#!/usr/bin/env bash
# End to end on a slice of real Fashion-MNIST (Debian's dataset-fashion-mnist):
# train on the first 6000 training images in one pass, test on the first 2000
# test images; the accuracy must beat 78% (the full run reaches ~85%; this slice
# ~81%), then eval must agree with train's test accuracy on the saved model.
# Skips (exit 77) when the data package is not installed.
set -euo pipefail
bin=$1
data=$2
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "skip: $data not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$("$bin" train --data "$data" --train-limit 6000 --test-limit 2000 --layers 1024:0.015625 --seed 1 --json --out "$tmp/m.safetensors")
echo "$out"
acc=$(sed -n 's/.*"test_accuracy": \([0-9.]*\).*/\1/p' <<<"$out")
ev=$("$bin" eval --model "$tmp/m.safetensors" --data "$data" --test-limit 2000 --json)
echo "$ev"
eacc=$(sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p' <<<"$ev")
awk -v a="$acc" -v e="$eacc" 'BEGIN {
  if (a == "" || a < 0.78) { print "FAIL: test accuracy " a " below 0.78"; exit 1 }
  if (a != e) { print "FAIL: eval accuracy " e " differs from train accuracy " a; exit 1 }
  print "ok: accuracy " a " >= 0.78 and eval agrees" }'
