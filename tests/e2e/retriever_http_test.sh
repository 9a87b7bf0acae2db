#!/usr/bin/env bash
# The Search-R1 / FlashRAG retrieval API both ways (issue #15): `mem1 serve retriever` answers
# POST /retrieve in the reference schema, refuses malformed requests with 400 / 413 (and keeps
# serving), and the QA environment pointed at it (env.qa.retriever) shows exactly the
# observations of the in-process index; a stopped server is a clear start-up error.
# Usage: retriever_http_test.sh BIN_DIR SOURCE_DIR
set -uo pipefail
BIN="$1"; SRC="$2"
T=${KEEP_T:-$(mktemp -d)}; [ -n "${KEEP_T:-}" ] || trap 'pkill -KILL -f "$T/" 2>/dev/null; rm -rf "$T"' EXIT
fails=0; passes=0
ok()  { passes=$((passes+1)); echo "PASS: $1"; }
bad() { fails=$((fails+1)); echo "FAIL: $1"; }
prep() { local n="$1"; shift; "$@" >"$T/prep.out" 2>&1 || { echo "FAIL: $n"; tail -20 "$T/prep.out"; exit 1; }; }

prep "datagen qa" "$BIN/mem1" datagen qa --entities 60 --seed 3 --out "$T/qa"
prep "index build" "$BIN/mem1" index build --corpus "$T/qa/corpus.jsonl" --out "$T/qa/index" --quiet
"$BIN/mem1" serve retriever --index "$T/qa/index" --port 0 --threads 2 --max-body-bytes 4096 >"$T/serve.out" 2>"$T/serve.err" &
spid=$!
for _ in $(seq 1 100); do grep -q "^serving" "$T/serve.out" && break; sleep 0.1; done
URL="$(grep -o 'http://[^ ]*/retrieve' "$T/serve.out")"
[ -n "$URL" ] && ok "server up at $URL" || { bad "server did not start: $(cat "$T/serve.out" "$T/serve.err")"; exit 1; }

python3 - "$URL" <<'PY' && ok "POST /retrieve: the reference schema (scores and plain documents), 400/413 for bad requests, still serving" \
  || bad "HTTP API checks"
import json, sys, urllib.request, urllib.error
url = sys.argv[1]
def post(body, raw=False):
    data = body if raw else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
s, r = post({"queries": ["official language", "capital city"], "topk": 3, "return_scores": True})
assert s == 200 and len(r["result"]) == 2, (s, r)
for hits in r["result"]:
    assert 1 <= len(hits) <= 3, hits
    for h in hits:
        assert set(h) == {"document", "score"} and isinstance(h["document"]["contents"], str) and h["document"]["id"], h
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True), scores
s, r = post({"queries": ["official language"], "topk": 2})
assert s == 200 and len(r["result"][0]) == 2 and "contents" in r["result"][0][0] and "score" not in r["result"][0][0], r
for body, want in ((b"{not json", 400), (json.dumps({"queries": "x"}).encode(), 400),
                   (json.dumps({"queries": ["a"], "topk": 0}).encode(), 400),
                   (json.dumps({"queries": [1]}).encode(), 400),
                   (json.dumps({"queries": ["a" * 5000]}).encode(), 413)):
    s, r = post(body, raw=True)
    assert s == want, (body[:40], s, r)
    if want == 400:
        assert "error" in json.loads(r), r
s, r = post({"queries": ["capital city"]})
assert s == 200 and len(r["result"][0]) == 3, r  # default topk 3
PY

# The same episode through the in-process index and through the server: identical text.
CFG=(--set env.qa.data_dir="$T/qa" --objectives 2 --split test --task 2)
"$BIN/mem1" qa play "${CFG[@]}" </dev/null >"$T/p0" 2>/dev/null
q1="$(grep -o 'Q1: [^?]*' "$T/p0" | head -1 | cut -c5-)"; q2="$(grep -o 'Q2: [^?]*' "$T/p0" | head -1 | cut -c5-)"
printf 'search[%s]\nsearch[%s]\nanswer[x; y]\n' "$q1" "$q2" > "$T/moves"
"$BIN/mem1" qa play "${CFG[@]}" <"$T/moves" >"$T/local.txt" 2>/dev/null
"$BIN/mem1" qa play "${CFG[@]}" --set env.qa.retriever="$URL" <"$T/moves" >"$T/http.txt" 2>"$T/http.err"
[ "$(grep -c 'Doc 1(Title:' "$T/local.txt")" = 2 ] && cmp -s "$T/local.txt" "$T/http.txt" \
  && ok "qa play over HTTP = in-process (2 searches, identical observations)" \
  || { bad "HTTP vs in-process differ"; diff "$T/local.txt" "$T/http.txt" | head -10; tail -3 "$T/http.err"; }

kill -INT "$spid"; wait "$spid"; src=$?
[ "$src" = 0 ] && grep -q "stopped: .* requests, .* queries, 4 bad requests" "$T/serve.out" \
  && ok "Ctrl-C stops the server cleanly; it counted the 4 bad requests (the 413 is refused before parsing)" || bad "server stop: rc $src $(tail -2 "$T/serve.out")"
"$BIN/mem1" qa play "${CFG[@]}" --set env.qa.retriever="$URL" <"$T/moves" >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" != 0 ] && grep -q "^error: retriever $URL: .*is the retrieval server running?" "$T/err" \
  && ok "server down: a one-line start-up error (exit $rc)" || bad "server down: rc $rc $(cat "$T/err" | tail -3)"
"$BIN/mem1" serve retriever --index "$T/nope" --port 0 >"$T/out" 2>"$T/err"; rc=$?
[ "$rc" != 0 ] && [ "$(wc -l < "$T/err")" -le 2 ] && grep -q "^error: .*nope" "$T/err" \
  && ok "missing index: clear error" || bad "missing index: rc $rc $(cat "$T/err")"
echo "retriever_http_test: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
