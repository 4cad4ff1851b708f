#!/usr/bin/env bash
# End-to-end tests of `lore ingest --sync`: after each run the tenant's
# documents of the source match the folder (files added, changed, renamed,
# deleted, symlinked), other sources and directories are left alone, a
# folder that cannot be read is refused, gzip files are read through (and a
# gzip bomb refused), and a walk with more than 200 errors names them all,
# in the summary and page by page in `lore jobs show`.
set -uo pipefail
LORE=${1:?usage: sync.sh path/to/lore}
T=$(mktemp -d /tmp/lore-sync-XXXXXX)
trap 'rm -rf "$T"' EXIT
T=$(cd "$T" && pwd -P) # document ids are resolved paths
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
# The tenant's documents as "source|external id", sorted (paths shown from $T).
docs() {
  lore_store_tenant_sql "$LORE_DATA_DIR" default \
    "SELECT source || '|' || external_id FROM documents ORDER BY 1" | sed "s|$T/||"
}
same() { # what expected actual
  if [ "$2" == "$3" ]; then ok; else bad "$1: documents differ:
--- expected
$2
--- got
$3"; fi
}
sync() { expect "${1:-0}" "sync" -- "$LORE" ingest --sync "$T/d"; }

D=$T/d
mkdir -p "$D/sub" "$T/d.old" "$T/d0"
printf 'alpha words in a plain file\n' >"$D/a.txt"
printf '# Bravo heading\n\nmarkdown body about kestrels\n' >"$D/b.md"
printf '{"text":"one line"}\n{"text":"two lines"}\n{"text":"three lines"}\n' >"$D/sub/c.jsonl"
printf 'compressed text about zanzibar\n' | gzip >"$D/g.txt.gz"
ln -s a.txt "$D/link.txt"            # the same file again: not counted twice
printf 'sibling directory\n' >"$T/d.old/x.txt" # "d.old" and "d0" share the prefix "d"
printf 'sibling directory\n' >"$T/d0/y.txt"
expect 0 "plain ingest of siblings" -- "$LORE" ingest --quiet "$T/d.old" "$T/d0"
expect 0 "another source" -- "$LORE" ingest --quiet --source other "$D"

# 1. The first sync.
sync
has "$ERR" "ingested 4 files"
has "$ERR" "link.txt: skipped: the same file was read earlier"
same "first sync" "d.old/x.txt
d/a.txt
d/b.md
d/g.txt.gz
d/sub/c.jsonl#1
d/sub/c.jsonl#2
d/sub/c.jsonl#3
d0/y.txt" "$(docs | grep '^files|' | cut -d'|' -f2)"
others=$(docs | grep '^other|')
[ "$(wc -l <<<"$others")" -eq 6 ] && ok || bad "source other: $others"
expect 0 "gzip is searchable" -- "$LORE" search "zanzibar source:files"
has "$ERR" "^1 hit"; has "$OUT" "g.txt.gz"

# 2. Change, rename, delete, shrink, add.
old_b=$(docs | grep -c 'd/b.md')
printf 'alpha words, changed\n' >"$D/a.txt"
mv "$D/b.md" "$D/sub/b2.md" # same bytes, title from its heading: moved in place
rm "$D/g.txt.gz" "$D/link.txt"
printf '{"text":"one line"}\n{"text":"two lines"}\n' >"$D/sub/c.jsonl"
printf 'a new file about ocelots\n' >"$D/new.txt"
sync
has "$ERR" "b2.md: renamed from $D/b.md"
has "$ERR" "1 renamed"
has "$ERR" "2 deleted" # g.txt.gz and c.jsonl#3
same "second sync" "d.old/x.txt
d/a.txt
d/new.txt
d/sub/b2.md
d/sub/c.jsonl#1
d/sub/c.jsonl#2
d0/y.txt" "$(docs | grep '^files|' | cut -d'|' -f2)"
[ "$(docs | grep -c '^other|')" -eq 6 ] && ok || bad "the sync touched source other"
[ "$old_b" -eq 2 ] && ok || bad "b.md was not in both sources before"
expect 0 "renamed doc is found" -- "$LORE" search "kestrels source:files"
has "$OUT" "sub/b2.md"; hasnt "$OUT" "d/b.md"
expect 0 "deleted gzip doc is gone" -- "$LORE" search "zanzibar source:files"; has "$ERR" "^0 hits"
expect 0 "changed file" -- "$LORE" search "changed source:files"; has "$OUT" "d/a.txt"

# 3. Nothing changed: nothing is read again.
sync
has "$ERR" "0 added, 0 updated, 5 unchanged, 0 deleted, 0 renamed"

# 4. A rename whose title comes from the file name is parsed again.
mv "$D/new.txt" "$D/ocelot.txt"
sync
has "$ERR" "1 added"; has "$ERR" "1 deleted"; has "$ERR" "0 renamed"
title=$(lore_store_tenant_sql "$LORE_DATA_DIR" default \
  "SELECT title FROM documents WHERE external_id='$D/ocelot.txt'")
[ "$title" == "ocelot" ] && ok || bad "renamed file's title: '$title'"

# 5. A document deleted by hand comes back although its file is unchanged.
id=$(lore_store_tenant_sql "$LORE_DATA_DIR" default \
  "SELECT id FROM documents WHERE source='files' AND external_id='$D/a.txt'")
expect 0 "delete by hand" -- "$LORE" delete "$id"
sync
has "$ERR" "1 added"
docs | grep -q "^files|d/a.txt$" && ok || bad "a.txt not restored"

# 6. A file that fails to parse keeps its documents; a symlink to a file
#    out of the directory is not this sync's to delete.
printf '{"text":"one line"}\n{"text":"two lines"}\n{broken\n' >"$D/sub/c.jsonl"
ln -s "$T/d0/y.txt" "$D/outside.txt"
sync 2
has "$ERR" "c.jsonl: line 3"
docs | grep -q "^files|d/sub/c.jsonl#2$" && ok || bad "c.jsonl lost its documents"
rm "$D/outside.txt"
sync 2
docs | grep -q "^files|d0/y.txt$" && ok || bad "a sync deleted a document of another directory"

# 7. A folder that is not there, or not a folder, is refused: nothing deleted.
before=$(docs)
mv "$D" "$T/moved"
sync 2
has "$ERR" "nothing was synced or deleted"
expect 2 "sync of a file" -- "$LORE" ingest --sync "$T/moved/a.txt"
has "$ERR" "takes a directory"
same "after refusals" "$before" "$(docs)"
mv "$T/moved" "$D"

# 8. An emptied folder is refused (an unmounted disk looks like one): its
# documents stay. With one file left in it, the others go; siblings stay.
mkdir "$T/empty" && printf 'soon gone\n' >"$T/empty/e.txt"
expect 0 "sync empty" -- "$LORE" ingest --sync "$T/empty"
rm "$T/empty/e.txt"
expect 2 "sync emptied" -- "$LORE" ingest --sync "$T/empty"
has "$ERR" "it is empty"; has "$ERR" "nothing was deleted"
docs | grep -q "empty/e.txt" && ok || bad "the emptied folder's document was deleted"
printf 'placeholder\n' >"$T/empty/keep.txt"
expect 0 "sync with one file left" -- "$LORE" ingest --sync "$T/empty"; has "$ERR" "1 deleted"
docs | grep -q "empty/e.txt" && bad "empty/e.txt still has its document" || ok
docs | grep -q "^files|d/a.txt$" && ok || bad "emptying empty/ touched d/"

# 8b. Records with their own ids: dropped when no synced file holds them any more.
mkdir "$T/recs"
printf '[{"id":"rec-1","text":"first"},{"id":"rec-2","text":"second"},{"id":"rec-9","text":"shared"}]\n' >"$T/recs/a.json"
printf '[{"id":"rec-9","text":"shared"}]\n' >"$T/recs/b.json"
expect 0 "sync records" -- "$LORE" ingest --sync "$T/recs"
recs() { docs | grep '^files|rec-' | cut -d'|' -f2 | tr '\n' ' '; }
[ "$(recs)" == "rec-1 rec-2 rec-9 " ] && ok || bad "records: $(recs)"
printf '[{"id":"rec-1","text":"first"},{"id":"rec-9","text":"shared"}]\n' >"$T/recs/a.json"
expect 0 "a record dropped" -- "$LORE" ingest --sync "$T/recs"; has "$ERR" "1 deleted"
[ "$(recs)" == "rec-1 rec-9 " ] && ok || bad "records after a shrink: $(recs)"
rm "$T/recs/a.json"
expect 0 "a file of records gone" -- "$LORE" ingest --sync "$T/recs"; has "$ERR" "1 deleted"
[ "$(recs)" == "rec-9 " ] && ok || bad "rec-9 is still in b.json: $(recs)"
rm "$T/recs/b.json" && printf 'placeholder\n' >"$T/recs/keep.txt" # an empty folder is refused
expect 0 "the last holder gone" -- "$LORE" ingest --sync "$T/recs"
[ "$(recs)" == "" ] && ok || bad "records left: $(recs)"

# 8c. A record's own id that looks like a path under the folder is the
# record's, not a file's: the sync keeps it, this time and the next.
mkdir "$T/own"
printf '{"id":"%s/own/guide/intro","text":"pathlike ownid"}\n' "$T" >"$T/own/a.jsonl"
expect 0 "sync a path-like own id" -- "$LORE" ingest --sync "$T/own"
docs | grep -q "^files|own/guide/intro$" && ok || bad "the path-like own id was deleted: $(docs | grep own/)"
expect 0 "sync it again" -- "$LORE" ingest --sync "$T/own"
docs | grep -q "^files|own/guide/intro$" && ok || bad "the path-like own id went on the second sync"

# 8d. A bad line in a synced JSON Lines file keeps the documents the file
# had (that line's among them) until it reads cleanly; its error is named.
mkdir "$T/lines"
printf '{"text":"alpha line"}\n{"text":"beta line"}\n{"text":"gamma line"}\n' >"$T/lines/l.jsonl"
expect 0 "sync lines" -- "$LORE" ingest --sync "$T/lines"
before_lines=$(docs | grep lines/)
printf '{"text":"alpha line"}\n{"text": beta broken\n{"text":"gamma line"}\n' >"$T/lines/l.jsonl"
expect 2 "sync a broken line" -- "$LORE" ingest --sync "$T/lines"; has "$ERR" "l.jsonl"
same "a bad line keeps the file's documents" "$before_lines" "$(docs | grep lines/)"
printf '{"text":"alpha line"}\n{"text":"gamma line"}\n' >"$T/lines/l.jsonl"
expect 0 "sync the mended file" -- "$LORE" ingest --sync "$T/lines"
[ "$(docs | grep -c lines/)" = 2 ] && ok || bad "after mending: $(docs | grep lines/)"

# 9. Gzip: the inner format is detected; a bomb and a cut stream are refused.
mkdir "$T/gz"
printf '# Gzipped markdown\n\nabout quetzals\n' | gzip >"$T/gz/notes.md.gz"
head -c 3000000 /dev/zero | gzip >"$T/gz/bomb.txt.gz"
printf 'short' | gzip | head -c 12 >"$T/gz/cut.txt.gz"
expect 2 "gzip ingest" -- env LORE_MAX_FILE_MB=1 "$LORE" ingest "$T/gz"
has "$ERR" "bomb.txt.gz: gzip: decompresses to more than 1 MiB (setting max_file_mb); refused"
has "$ERR" "cut.txt.gz: gzip: the file is truncated"
expect 0 "gzip markdown" -- "$LORE" search quetzals; has "$OUT" "Gzipped markdown"
docs | grep -q "bomb" && bad "the gzip bomb was indexed" || ok

# 10. More than 200 errors: every one is named, and jobs show pages them.
mkdir "$T/bad"
for i in $(seq 1 230); do printf '{"broken %d\n' "$i" >"$T/bad/f$i.json"; done
expect 2 "many errors" -- "$LORE" ingest "$T/bad"
n=$(grep -c "bad/f[0-9]*.json: json:" <<<"$ERR")
job=$("$LORE" jobs list --limit 1 | awk 'NR == 2 { print $1 }')
# Every problem is in the job's blob, on PostgreSQL too (a store row there).
[ "$n" -eq 230 ] && ok || bad "the summary named $n of 230 errors"
expect 0 "jobs show page 3" -- "$LORE" jobs show "$job" --page 3 --limit 100
has "$OUT" "problems:     230 (230 errors), page 3 of 3"
n=$(grep -c "^ *2[0-3][0-9] error .*bad/f" <<<"$OUT")
[ "$n" -eq 30 ] && ok || bad "page 3 listed $n problems, want 30"
seen=""
for p in 1 2 3; do seen+=$("$LORE" jobs show "$job" --page $p --limit 100 | grep -o 'bad/f[0-9]*\.json')$'\n'; done
[ "$(grep -c . <<<"$seen")" -eq 230 ] && [ "$(sort -u <<<"$seen" | grep -c .)" -eq 230 ] && ok ||
  bad "paging did not list each error once"
expect 1 "page past the end" -- "$LORE" jobs show "$job" --page 4 --limit 100
has "$ERR" "230 problem(s), 3 page(s)"
# A file name that is not UTF-8 is still named (its bad bytes as U+FFFD).
mkdir "$T/u8" && printf '{"broken' >"$T/u8/bad$(printf '\xff').json"
expect 2 "non-UTF-8 name" -- "$LORE" ingest "$T/u8"; has "$ERR" "u8/bad.*\.json: json:"
job=$("$LORE" jobs list --limit 1 | awk 'NR == 2 { print $1 }')
expect 0 "jobs show non-UTF-8" -- "$LORE" jobs show "$job"
has "$OUT" "problems:     1 (1 errors)"
if lore_store_pg; then
  n=$(lore_store_sql "$LORE_DATA_DIR" "SELECT count(*) FROM lore.blobs WHERE name LIKE 'problems-%' AND state = 1")
  [ "$n" -gt 0 ] && ok || bad "no problems blob in the store before the purge"
fi
expect 0 "purge" -- "$LORE" jobs purge
if lore_store_pg; then
  n=$(lore_store_sql "$LORE_DATA_DIR" "SELECT count(*) FROM lore.blobs")
  [ "$n" = 0 ] && ok || bad "purge left $n blobs"
else
  ls "$LORE_DATA_DIR/blobs/default" | grep -q problems && bad "purge left problems files" || ok
fi

echo "sync.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
