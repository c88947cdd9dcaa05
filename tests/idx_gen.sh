# Sourced by the shell tests: writes tiny MNIST-format (IDX) data sets.
# mkset DIR NTRAIN NTEST makes 20x20 train-/t10k- images and labels (.gz) of
# 10 classes, class c being a bright stripe at row 2c.
# big-endian header, ubyte payload
byte() { printf "$(printf '\\x%02x' "$1")"; }
be32() { byte $(($1 >> 24 & 255)); byte $(($1 >> 16 & 255)); byte $(($1 >> 8 & 255)); byte $(($1 & 255)); }
images() { # n rows cols -> stdout; class c: a bright stripe two rows high at row 2c (rows >= 3)
  local n=$1 r=$2 c=$3 i
  be32 2051; be32 "$n"; be32 "$r"; be32 "$c"
  for ((i = 0; i < n; i++)); do
    local top=$(((i % 10) * 2 % (r - 1))) # stripe rows top, top+1 (wraps on small images)
    head -c $((top * c)) /dev/zero
    head -c $((2 * c)) /dev/zero | tr '\0' '\310'
    head -c $(((r - 2 - top) * c)) /dev/zero | tr '\0' '\020'
  done
}
labels() { # n [bad_label] -> stdout
  local n=$1 i
  be32 2049; be32 "$n"
  for ((i = 0; i < n; i++)); do
    if [ $# -ge 2 ] && [ "$i" -eq 3 ]; then byte "$2"; else byte $((i % 10)); fi
  done
}
mkset() { # dir ntrain ntest
  mkdir -p "$1"
  images "$2" 20 20 | gzip -c > "$1/train-images-idx3-ubyte.gz"
  labels "$2" | gzip -c > "$1/train-labels-idx1-ubyte.gz"
  images "$3" 20 20 | gzip -c > "$1/t10k-images-idx3-ubyte.gz"
  labels "$3" | gzip -c > "$1/t10k-labels-idx1-ubyte.gz"
}

