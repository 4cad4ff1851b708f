#!/usr/bin/env bash
# End-to-end tests of lore backup, lore restore and lore tenant
# export/import:
# - a backup taken while a server keeps acknowledging writes holds every
#   document acknowledged before it began; the restored directory passes
#   its checks, serves search and accepts the old keys;
# - a job still queued (its payload a blob) at backup time runs after the
#   restore; a tampered blob, manifest or database fails the restore, which
#   leaves the data directory empty; a queued path job, whose problems file
#   is written only when it runs, draws no warning of a missing blob;
# - what a killed restore leaves (no control.db, control.db.restoring) is
#   no store, and a new restore into it says to remove it;
# - export/import keeps every field (ACL, metadata, dates), twice adds
#   nothing, reports garbage lines by number and goes on, notices a cut file.
set -uo pipefail
LORE=${1:?usage: backup.sh path/to/lore}
LORE=$(cd "$(dirname "$LORE")" && pwd)/$(basename "$LORE")
T=$(mktemp -d /tmp/lore-backup-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
unset LORE_CONFIG LORE_DATA_DIR
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
# run CODE WHAT CMD...: runs CMD, OUT/ERR get its output, checks the exit code
run() {
  local code=$1 what=$2
  shift 2
  OUT=$("$@" 2>"$T/err")
  local rc=$?
  ERR=$(cat "$T/err")
  if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, want $code; stderr: ${ERR:0:1500}"; fi
}

# serve DIR [ENV=V...]: starts lore serve on a free port; sets PORT, KEY (the
# first-start key, if printed), SPID
serve() {
  local dir=$1
  shift
  rm -f "$T/serve.out"
  env LORE_DATA_DIR="$dir" LORE_WORKERS=2 "$@" "$LORE" serve --listen 127.0.0.1:0 \
    >"$T/serve.out" 2>"$T/serve.err" &
  SPID=$!
  PIDS+=("$SPID")
  for _ in $(seq 1 400); do
    grep -q "listening on" "$T/serve.out" 2>/dev/null && break
    sleep 0.05
  done
  PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/serve.out")
  local k
  k=$(sed -n 's/^admin key (shown once, keep it): //p' "$T/serve.out")
  [ -n "$k" ] && KEY=$k
  [ -n "$PORT" ] || { cat "$T/serve.err" >&2; return 1; }
}
stop() { kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }
post() { # post BODY [QUERY]: prints the HTTP code
  local f
  f=$(mktemp "$T/body.XXXXXX")
  printf '%s' "$1" >"$f"
  curl -s -o "$f.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' --data-binary "@$f" "http://127.0.0.1:$PORT/v1/documents${2:-}"
  rm -f "$f" "$f.out"
}

# --- usage errors
mkdir -p "$T/full" && echo x >"$T/full/file"
run 1 "backup without DEST" "$LORE" backup --data-dir "$T/u"
check 'grep -q "destination" <<<"$ERR"' "backup without DEST says what is missing: $ERR"
run 1 "backup into a non-empty directory" "$LORE" backup --data-dir "$T/u" "$T/full"
check 'grep -q "is not empty" <<<"$ERR"' "a non-empty DEST is refused by name: $ERR"
check '[ -f "$T/full/file" ] && [ "$(ls "$T/full")" = file ]' "a refused DEST is left alone"
run 1 "backup --step-pages 0" "$LORE" backup --data-dir "$T/u" --step-pages 0 "$T/b0"
run 2 "restore from a directory without a manifest" "$LORE" restore --data-dir "$T/r0" "$T/full"
check 'grep -q "no manifest" <<<"$ERR"' "a directory that is no backup is named: $ERR"
check '[ ! -e "$T/r0" ]' "a refused restore creates no data directory"

# --- a backup under a write load
D1="$T/d1"
awk 'BEGIN { for (i = 0; i < 1500; i++) {
  printf "{\"id\":\"seed-%d\",\"title\":\"Seed %d\",\"text\":\"", i, i
  for (j = 0; j < 20; j++) printf "seed document %d about otters and rivers. ", i
  print "\"}" } }' >"$T/seed.jsonl"
LORE_DATA_DIR="$D1" "$LORE" ingest --quiet "$T/seed.jsonl" || bad "seeding failed"
serve "$D1" || bad "server did not start"
check '[[ "$KEY" =~ ^lore_ ]]' "the first start printed a key"
# The writer acknowledges each document once its job is done (?wait=) and
# then appends its id to acked; every 7th carries an ACL and metadata, every
# 20th is large enough (300 KB) to be stored as a blob.
big=$(head -c 300000 /dev/zero | tr '\0' 'b')
writer() {
  local i=0 body code
  while [ ! -e "$T/stop" ] && [ $i -lt 2000 ]; do
    i=$((i + 1))
    if [ $((i % 20)) -eq 0 ]; then
      body="{\"id\":\"w-$i\",\"text\":\"large otter $i $big\"}"
    elif [ $((i % 7)) -eq 0 ]; then
      body="{\"id\":\"w-$i\",\"title\":\"Writer $i\",\"text\":\"otter writer $i\",\"acl\":[\"group:eng\",\"user:a@x.test\"],\"metadata\":{\"n\":$i,\"tags\":[\"x\",\"y\"]},\"author\":\"Ann\",\"url\":\"https://x.test/$i\",\"created_at\":\"2024-05-01T10:00:00.250Z\",\"updated_at\":\"2024-05-02T11:00:00Z\"}"
    else
      body="{\"id\":\"w-$i\",\"text\":\"otter writer $i\"}"
    fi
    code=$(post "$body" "?wait=30")
    [ "$code" = 200 ] && echo "w-$i" >>"$T/acked"
  done
}
: >"$T/acked"
writer &
WPID=$!
PIDS+=("$WPID")
for _ in $(seq 1 1200); do
  [ "$(wc -l <"$T/acked")" -ge 20 ] && break
  sleep 0.05
done
cp "$T/acked" "$T/before"
run 0 "backup under load" env LORE_DATA_DIR="$D1" "$LORE" backup --step-pages 1 "$T/b1"
check 'grep -q "backed up 1 tenant (" <<<"$OUT"' "backup prints a summary: $OUT"
n_mid=$(wc -l <"$T/acked")
for _ in $(seq 1 1200); do # writes go on after the backup
  [ "$(wc -l <"$T/acked")" -gt "$n_mid" ] && break
  sleep 0.05
done
touch "$T/stop"
wait "$WPID"
n_before=$(wc -l <"$T/before")
n_after=$(wc -l <"$T/acked")
check '[ "$n_before" -ge 20 ] && [ "$n_after" -gt "$n_before" ]' "writes went on around the backup ($n_before before, $n_after in all)"
check '[ -f "$T/b1/manifest.json" ] && [ -f "$T/b1/control.db" ] && [ -f "$T/b1/tenants/default/lore.db" ]' "the backup holds the manifest and the databases"
check '! ls "$T/b1"/*-wal "$T/b1"/tenants/default/*-wal 2>/dev/null | grep -q .' "the backup leaves no WAL files"
stop

# --- restore into a fresh directory
run 1 "restore into a non-empty data directory" "$LORE" restore --data-dir "$D1" "$T/b1"
check 'grep -q "is not empty" <<<"$ERR"' "a non-empty data directory is refused: $ERR"
D2="$T/d2"
run 0 "restore" env LORE_DATA_DIR="$D2" "$LORE" restore "$T/b1"
check 'grep -q "integrity check" <<<"$OUT"' "restore reports its checks: $OUT"
LORE_DATA_DIR="$D2" "$LORE" tenant export default "$T/d2.jsonl" 2>/dev/null || bad "export of the restored tenant failed"
grep -o '"id":"w-[0-9]*"' "$T/d2.jsonl" | sed 's/.*"\(w-[0-9]*\)"/\1/' | sort >"$T/restored"
sort "$T/before" >"$T/before.sorted"
missing=$(comm -23 "$T/before.sorted" "$T/restored" | wc -l)
comm -23 "$T/before.sorted" "$T/restored" | sed 's/^/missing after restore: /' >&2
check '[ "$missing" -eq 0 ]' "every document acknowledged before the backup is restored ($missing of $n_before missing)"
check '[ "$(grep -c "\"id\":\"seed-" "$T/d2.jsonl")" -eq 1500 ]' "the seeded documents are restored"
manifest_docs=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(t["documents"] for t in m["tenants"]))' "$T/b1/manifest.json")
restored_docs=$(LORE_DATA_DIR="$D2" "$LORE" tenant list --json | python3 -c 'import json,sys; print(sum(json.loads(l)["documents"] for l in sys.stdin))')
check '[ "$manifest_docs" = "$restored_docs" ]' "the restored counts are the manifest's ($restored_docs, $manifest_docs)"
serve "$D2" || bad "the restored server did not start"
check '! grep -q "admin key" "$T/serve.out"' "the restored server keeps its keys (no new admin key)"
code=$(curl -s -o "$T/s.out" -w '%{http_code}' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/search?q=otters+rivers")
check '[ "$code" = 200 ] && grep -q "seed-" "$T/s.out"' "the old key searches the restored server (got $code)"
code=$(post '{"id":"after-restore","text":"written after the restore"}' "?wait=30")
check '[ "$code" = 200 ]' "the restored server takes writes (got $code)"
stop

# --- a job still queued at backup time (payload in a blob) runs after restore
P="$T/p"
serve "$P" LORE_WORKERS=-1 || bad "accept-only server did not start"
code=$(post "{\"id\":\"queued-big\",\"text\":\"queued narwhal $big\"}")
check '[ "$code" = 202 ]' "a write is queued on an accept-only server (got $code)"
code=$(post '{"id":"queued-small","text":"queued small narwhal"}')
stop
run 0 "backup with queued jobs" env LORE_DATA_DIR="$P" "$LORE" backup "$T/b2"
check 'python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert len(m[\"blobs\"])==1 and m[\"blobs\"][0][\"bytes\"]>300000 and m[\"control\"][\"jobs_pending\"]==2" "$T/b2/manifest.json"' "the manifest lists the queued blob and the pending jobs"
cp -r "$T/b2" "$T/b2bad"
blob=$(ls "$T/b2bad/blobs/default/")
printf 'X' | dd of="$T/b2bad/blobs/default/$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
run 2 "restore of a tampered blob" "$LORE" restore --data-dir "$T/r2bad" "$T/b2bad"
check 'grep -q "SHA-256" <<<"$ERR"' "a tampered blob is named: $ERR"
check '[ -z "$(ls -A "$T/r2bad" 2>/dev/null)" ]' "a failed restore leaves the data directory empty"
run 0 "restore with queued jobs" "$LORE" restore --data-dir "$T/r2" "$T/b2"
LORE_DATA_DIR="$T/r2" "$LORE" worker --workers 1 >/dev/null 2>&1 &
WK=$!
PIDS+=("$WK")
for _ in $(seq 1 200); do
  out=$(LORE_DATA_DIR="$T/r2" "$LORE" search --tenant default narwhal 2>&1)
  grep -q "2 hits" <<<"$out" && break
  sleep 0.05
done
kill -TERM "$WK" 2>/dev/null
wait "$WK" 2>/dev/null
out=$(LORE_DATA_DIR="$T/r2" "$LORE" search --tenant default narwhal 2>&1)
check 'grep -q "2 hits" <<<"$out"' "the queued jobs ran after the restore: $out"

# --- a path job queued but not yet run: its problems file does not exist yet
Q="$T/q"
mkdir -p "$T/qdocs" && echo "a walrus note" >"$T/qdocs/a.md"
LORE_DATA_DIR="$Q" "$LORE" ingest --quiet "$T/qdocs" || bad "ingest of a folder failed"
# As lore ingest leaves it when killed before a worker took the job.
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE jobs SET state=0 WHERE kind=\"path\""); c.commit()' "$Q/control.db"
rm -f "$Q"/blobs/default/problems-*
run 0 "backup with a queued path job" env LORE_DATA_DIR="$Q" "$LORE" backup "$T/bq"
check '! grep -q "warning" <<<"$ERR"' "a queued path job's problems file is not reported missing: $ERR"
check 'grep -q "(1 pending)" <<<"$OUT"' "the path job is backed up pending: $OUT"

# --- what a killed restore leaves: no control.db, so no store
mkdir -p "$T/rk/tenants/default"
cp "$T/b1/control.db" "$T/rk/control.db.restoring"
run 2 "a store left by a killed restore does not open" env LORE_DATA_DIR="$T/rk" "$LORE" tenant list
check 'grep -q "no control.db" <<<"$ERR"' "it is refused as holding no control.db: $ERR"
run 1 "restore into what a killed restore left" "$LORE" restore --data-dir "$T/rk" "$T/b1"
check 'grep -q "did not finish" <<<"$ERR" && grep -q "remove the directory" <<<"$ERR"' "the message says what happened and what to do: $ERR"
check '[ -f "$T/rk/control.db.restoring" ]' "the leftover is left alone"

# --- a tampered manifest or database fails the restore
cp -r "$T/b1" "$T/b1m"
python3 - "$T/b1m/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["tenants"][0]["documents"] += 1
json.dump(m, open(sys.argv[1], "w"))
EOF
run 2 "restore against a wrong manifest" "$LORE" restore --data-dir "$T/r3" "$T/b1m"
check 'grep -q "manifest says" <<<"$ERR"' "a count mismatch is named: $ERR"
check '[ -z "$(ls -A "$T/r3" 2>/dev/null)" ]' "the data directory is empty again"
cp -r "$T/b1" "$T/b1c"
db="$T/b1c/tenants/default/lore.db"
size=$(stat -c %s "$db")
head -c 8192 /dev/urandom | dd of="$db" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
run 2 "restore of a corrupted database" "$LORE" restore --data-dir "$T/r4" "$T/b1c"
check 'grep -qi "integrity\|malformed\|corrupt" <<<"$ERR"' "a corrupted database is reported: $ERR"
cp -r "$T/b1" "$T/b1v"
sed -i 's/"format_version": 1/"format_version": 2/' "$T/b1v/manifest.json"
run 2 "restore of a newer manifest" "$LORE" restore --data-dir "$T/r5" "$T/b1v"
check 'grep -q "upgrade lore" <<<"$ERR"' "a newer manifest asks for an upgrade: $ERR"

# --- export / import between data directories
X="$T/x"
run 0 "import into a new tenant" env LORE_DATA_DIR="$X" "$LORE" tenant import copy "$T/d2.jsonl"
check 'grep -q "created tenant copy" <<<"$ERR"' "import creates the tenant: $ERR"
LORE_DATA_DIR="$X" "$LORE" tenant export copy "$T/x.jsonl" 2>/dev/null || bad "export of the copy failed"
# Every field survives except the time of indexing and the header's.
strip() { grep -v '"lore_export"' "$1" | sed 's/,"indexed_at":"[^"]*"//' | sort; }
check 'diff <(strip "$T/d2.jsonl") <(strip "$T/x.jsonl") >/dev/null' "export, import, export gives the same documents"
check 'grep -q "\"acl\":\[\"group:eng\",\"user:a@x.test\"\],\"text\"" "$T/x.jsonl" && grep -q "\"metadata\":{\"n\":7,\"tags\":\[\"x\",\"y\"\]}" "$T/x.jsonl" && grep -q "\"created_at\":\"2024-05-01T10:00:00.250Z\"" "$T/x.jsonl"' "ACL, metadata and dates to the millisecond are kept"
count1=$(LORE_DATA_DIR="$X" "$LORE" tenant list --json | grep -o '"documents":[0-9]*')
run 0 "import again" env LORE_DATA_DIR="$X" "$LORE" tenant import copy "$T/d2.jsonl"
check 'grep -q " 0 added, 0 updated, [0-9]* unchanged" <<<"$ERR"' "a second import changes nothing: $ERR"
count2=$(LORE_DATA_DIR="$X" "$LORE" tenant list --json | grep -o '"documents":[0-9]*')
check '[ "$count1" = "$count2" ]' "no duplicates after a second import ($count1, $count2)"
out=$(LORE_DATA_DIR="$X" "$LORE" search --tenant copy "otter writer" 2>&1)
check 'grep -q "hits" <<<"$out"' "the imported tenant is searchable: ${out:0:200}"

# garbage lines: reported by number, the good ones imported
cat >"$T/mixed.jsonl" <<'EOF'
{"id":"g-1","text":"good first line about walruses"}
this is not json
{"text":"no id here"}
[1,2,3]

{"id":"g-2","text":"good last line about walruses","acl":["bogus"]}
{"id":"g-3","text":"good last line about walruses","doc_id":"0000000000000000"}
{"id":"g-4","text":"another good line about walruses","source":"wiki"}
EOF
run 2 "import with bad lines" env LORE_DATA_DIR="$X" "$LORE" tenant import mixed "$T/mixed.jsonl"
check 'grep -q "line 2: not JSON" <<<"$ERR"' "line 2 is reported as not JSON: $ERR"
check 'grep -q "line 3: /id: id is required" <<<"$ERR"' "line 3 names the missing field: $ERR"
check 'grep -q "line 4: a document must be a JSON object" <<<"$ERR"' "line 4 is reported: $ERR"
check 'grep -q "line 6: /acl/0" <<<"$ERR"' "line 6 names the bad principal: $ERR"
check 'grep -q "line 7: /doc_id" <<<"$ERR"' "line 7's edited doc_id is reported: $ERR"
check 'grep -q "2 added" <<<"$ERR" && grep -q "5 bad lines" <<<"$ERR"' "the good lines are imported: $ERR"
out=$(LORE_DATA_DIR="$X" "$LORE" search --tenant mixed walruses 2>&1)
check 'grep -q "2 hits" <<<"$out"' "both good documents are searchable: $out"

# a cut export is noticed; what it holds is imported
head -n 10 "$T/d2.jsonl" >"$T/cut.jsonl"
run 2 "import of a cut file" env LORE_DATA_DIR="$X" "$LORE" tenant import cut "$T/cut.jsonl"
check 'grep -q "cut short" <<<"$ERR" && grep -q "9 added" <<<"$ERR"' "a cut file is reported and its documents kept: $ERR"
run 1 "export refuses to overwrite" env LORE_DATA_DIR="$X" "$LORE" tenant export copy "$T/x.jsonl"
run 2 "export of a missing tenant" env LORE_DATA_DIR="$X" "$LORE" tenant export nosuch
check 'grep -q "does not exist" <<<"$ERR"' "a missing tenant is named: $ERR"
# stdin and stdout
LORE_DATA_DIR="$X" "$LORE" tenant export mixed 2>/dev/null | LORE_DATA_DIR="$T/y" "$LORE" tenant import piped 2>"$T/err"
check '[ $? -eq 0 ] && grep -q "2 added" "$T/err"' "export | import through a pipe: $(cat "$T/err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
