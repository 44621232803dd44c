#!/usr/bin/env bash
# dna.sh — `make dna`: real DNA for issue 8 (GeneMask) from pinned Debian example-data
# packages (apt-get download PKG=VERSION, sha256 checked, dpkg-deb -x) →
#   data/dna/pretrain.fa    complete bacterial genomes, pretraining (split by whole genome)
#   data/dna/eval.fa        a held-out genus (Klebsiella pneumoniae Kp1084), for MLM eval
#   data/dna/manifest.tsv   one line per record: split, package, file, id, length, GC, N count
#   data/dna/tasks/coding/{test,train_10,train_50,train_100,train_500,train_1000}.tsv
#                           coding vs non-coding 100-bp windows ("sequence<TAB>label", raw
#                           upper-case bases; construction in tools/data/dna.js)
#   data/dna/SHA256SUMS     hashes of everything above; a re-run with unchanged inputs checks them
#   data/dna/licenses/<package>/copyright
# Independent of `make data`. Needs apt-get, dpkg-deb, node (20), xz, tar, sha256sum.
. "$(dirname "$0")/common.sh"
need node "dna.js"; need xz "Klebsiella genome (.fna.xz)"; need tar "kmer-examples test_data.tar.gz"
DNA=$DATA/dna
mkdir -p "$DNA" "$RAW/dna"

# package  version  sha256 of the .deb (architecture all; recorded when first fetched —
# apt has already checked each file against the signed archive index)
PKGS="
bowtie-examples    1.3.1-1             3cec5c9f6460ea2236cf3d2688665328ab18d90eb2f8eaa0183dd1cd05c212ee
ragout-examples    2.3-4               cbe6d0dd8b0e36ef2c93c9b9655955f42019dcd9e9b77388ee58ee54d50bd140
sibelia-examples   3.0.7+dfsg-3        ed55a9283215883a68a97db2a0bafbe66469dc7c04efcdd058f5fdd8bf3f552d
kmer-examples      0~20150903+r2013-8  f94b7062d92bc820ced42b83f8be83b9f6772c9c4093689a4135535e8ceb1da7
abacas-examples    1.3.1-9             fabe7c76429e981bc8191980369a8bd7d6fb3f5bac367bdd1f82814ddba88776
kleborate-examples 2.3.1-2             6039a0ee139e0b5f8a288f2bba298326419dc856c166e53e27da319c2d9ce29f
any2fasta-examples 0.4.2-2             7345afc5878efe867285622415a0ba70b9c32bbd57849df63c4600217c4502f9
"
declare -A DIR
while read -r pkg ver sum; do
  [ -n "$pkg" ] || continue
  DIR[$pkg]=$(deb_fetch "$pkg" "$ver" "$sum")
done <<< "$PKGS"

# The inputs, in this order (role, package, file). Chosen: complete genomes only. Left out:
# draft assemblies of strains whose complete genome is already here (ragout's *_contigs,
# sibelia's RN4220 = NCTC8325 derivative), abacas' 454 contigs, sequencing reads (gasic,
# unicycler), and the other three Klebsiella genomes of kleborate-examples (they would put
# Klebsiella into pretraining and make the eval genus no longer held out).
# Roles: eval = held-out genus; task = the annotated genome of the labelled task, kept out
# of both FASTA files so no test window is ever seen in pretraining.
tar_dir=$RAW/dna/kmer-examples
if [ ! -f "$tar_dir/.unpacked" ]; then
  rm -rf "$tar_dir"; mkdir -p "$tar_dir"
  tar xzf "${DIR[kmer-examples]}/usr/share/doc/kmer-examples/test_data.tar.gz" -C "$tar_dir" || die "cannot unpack kmer-examples test_data.tar.gz"
  touch "$tar_dir/.unpacked"
fi
kp=$RAW/dna/Klebs_Kp1084.fna
if [ ! -s "$kp" ]; then
  xz -dc "${DIR[kleborate-examples]}/usr/share/doc/kleborate/examples/data/Klebs_Kp1084.fna.xz" > "$kp.tmp" && mv "$kp.tmp" "$kp" \
    || die "cannot decompress Klebs_Kp1084.fna.xz"
fi
R=${DIR[ragout-examples]}/usr/share/doc/ragout/examples
S=${DIR[sibelia-examples]}/usr/share/doc/sibelia/examples
LIST=$RAW/dna/inputs.tsv
{
  printf 'eval\tkleborate-examples\t%s\n' "$kp"
  printf 'pretrain\tbowtie-examples\t%s\n' "${DIR[bowtie-examples]}/usr/share/doc/bowtie/examples/genomes/NC_008253.fna.gz"
  for f in E.Coli/references/{DH1,MG1655-K12} S.Aureus/references/{COL,JKD6008,N315,RF122,USA300_FPR3757} \
           V.Cholerae/references/{H1,O1_Inaba,O1_biovar,O395} H.Pylori/references/{ELS37,G27,Gambia94_24,Puno120,SJM180}; do
    printf 'pretrain\tragout-examples\t%s\n' "$R/$f.fasta.gz"
  done
  printf 'pretrain\tsibelia-examples\t%s\n' "$S/C-Sibelia/Staphylococcus_aureus/NCTC8325.fasta.gz" \
    "$S/Sibelia/Staphylococcus_aureus/Staphylococcus.fasta.gz" "$S/Sibelia/Helicobacter_pylori/Helicobacter_pylori.fasta.gz"
  printf 'pretrain\tkmer-examples\t%s\n' "$tar_dir/GCF_000195955.2_ASM19595v2_genomic.fna" "$tar_dir/GCF_000195855.1_ASM19585v1_genomic.fna"
  printf 'pretrain\tabacas-examples\t%s\n' "${DIR[abacas-examples]}/usr/share/doc/abacas-examples/SS_SC84.dna.gz"
  printf 'task\tany2fasta-examples\t%s\n' "${DIR[any2fasta-examples]}/usr/share/doc/any2fasta/examples/test.gbk.gz"
} > "$LIST.tmp"
cut -f3 "$LIST.tmp" | while read -r f; do [ -s "$f" ] || die "input missing: $f"; done
mv "$LIST.tmp" "$LIST"

OUTS="pretrain.fa eval.fa manifest.tsv tasks/coding/test.tsv tasks/coding/train_10.tsv tasks/coding/train_50.tsv
tasks/coding/train_100.tsv tasks/coding/train_500.tsv tasks/coding/train_1000.tsv tasks/coding/records.tsv"
key="$(awk '{print $3}' <<< "$PKGS" | tr '\n' ' ')$(cat "$ROOT/tools/data/dna.js" "$0" | sha256sum | cut -c1-32)"
if up_to_date "$DNA/SHA256SUMS" "$key" && (cd "$DNA" && sha256sum --quiet -c SHA256SUMS); then
  log "data/dna up to date (outputs match SHA256SUMS)"
else
  log "building data/dna (FASTA corpus, coding task)"
  node "$ROOT/tools/data/dna.js" corpus "$LIST" "$DNA" || die "dna.js corpus failed"
  node "$ROOT/tools/data/dna.js" task "$LIST" "$DNA" || die "dna.js task failed"
  # shellcheck disable=SC2086
  (cd "$DNA" && sha256sum $OUTS > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)
  stamp "$DNA/SHA256SUMS" "$key"
fi
for pkg in "${!DIR[@]}"; do
  mkdir -p "$DNA/licenses/$pkg"; cp "${DIR[$pkg]}/usr/share/doc/$pkg/copyright" "$DNA/licenses/$pkg/copyright"
done
# summary: bases per split, rows per task file and label
for s in pretrain eval; do
  awk -F'\t' -v s=$s '$1 == s {n++; b += $5; N += $7} END {printf "[data] dna %-8s %3d records %11d bases (%.2f Mb), %d N\n", s, n, b, b / 1e6, N}' "$DNA/manifest.tsv" >&2
done
for f in test train_10 train_50 train_100 train_500 train_1000; do
  tail -n +2 "$DNA/tasks/coding/$f.tsv" | cut -f2 | sort | uniq -c \
    | awk -v n="coding/$f" '{c = c sprintf(" %s %d", $2, $1); t += $1} END {printf "[data] %-18s %5d rows:%s\n", n, t, c}' >&2
done
log "combined digest $(sha256sum "$DNA/SHA256SUMS" | cut -c1-16)"
