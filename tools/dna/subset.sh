#!/usr/bin/env bash
# subset.sh — the pretraining corpus of tools/dna/experiment.sh: one strain of each of
# six species of data/dna/pretrain.fa (`make dna`), every chromosome of that strain —
# E. coli 536, S. aureus COL, V. cholerae H1 (2), H. pylori ELS37, M. tuberculosis H37Rv,
# M. leprae TN: 7 records, 21.2 Mb. The strains' near-copies are left out so the
# masking comparison pretrains on distinct sequence in the time of one device call.
#   tools/dna/subset.sh [IN] [OUT]   (default data/dna/pretrain.fa data/dna/pretrain_subset.fa)
set -euo pipefail
in=${1:-data/dna/pretrain.fa}; out=${2:-data/dna/pretrain_subset.fa}
ids='NC_008253.1 NC_002951.2 AKGH01000001.1 AKGH01000002.1 NC_017063.1 NC_000962.3 NC_002677.1'
awk -v ids="$ids" 'BEGIN { n = split(ids, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
  /^>/ { keep = 0; for (id in want) if (index($0, "|" id "|") || index($0, ">" id " ")) keep = 1 }
  keep' "$in" > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out: $(grep -c '>' "$out") records, $(grep -v '>' "$out" | tr -d '\n' | wc -c) bases"
# the file of the runs in bench/NOTES.md
echo "2cd2c6768c3a9170d32984776a677d13653c2cf775c6c3571a4c306c7c39d7a6  $out" | sha256sum -c -
