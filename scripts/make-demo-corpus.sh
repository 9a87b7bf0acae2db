#!/usr/bin/env bash
# Writes a small deterministic MEM1-style text corpus (questions, internal states, queries,
# observations, answers over fictional entities) to $1, $2 lines (default 20000). Used to train
# the embedded tokenizer until the synthetic QA world generator (issue #4) provides a corpus.
set -euo pipefail
out="$1"; lines="${2:-20000}"
awk -v n="$lines" 'BEGIN {
  srand(17);
  split("Zorvath Quellin Ambrek Tessaly Morvane Kaldor Ysolde Brennick Ostara Velmont", ent, " ");
  split("capital currency language river founder population mountain anthem border president", rel, " ");
  split("city country kingdom island province republic valley", kind, " ");
  split("north south east west central coastal", dir, " ");
  for (i = 0; i < n; i++) {
    e = ent[int(rand()*10)+1]; r = rel[int(rand()*10)+1]; k = kind[int(rand()*7)+1];
    e2 = ent[int(rand()*10)+1]; d = dir[int(rand()*6)+1]; y = 1000 + int(rand()*1000);
    t = int(rand()*5);
    if (t == 0) printf("Question: what is the %s of %s? Answer the question after searching.\n", r, e);
    else if (t == 1) printf("<IS>The %s of %s is %s. Still need the %s of %s.</IS><query>%s %s</query>\n", r, e, e2, rel[int(rand()*10)+1], e2, e2, r);
    else if (t == 2) printf("<info>Doc 1(Title: %s) %s is a %s %s founded in %d by %s.</info>\n", e, e, d, k, y, e2);
    else if (t == 3) printf("<IS>Found %s; %d turns left.</IS><answer>%s; %d</answer>\n", e2, int(rand()*6), e2, y);
    else printf("The %s %s of %s lies %s of %s, with a population of %d.\n", d, k, e, d, e2, y*37);
  }
}' > "$out"
