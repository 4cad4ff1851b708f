# Checks shared by the shell tests (tests/cli/*.sh): source it after setting
# T, the test's temporary directory. Each check counts a pass or prints FAIL;
# a test ends with `finish`, which prints "N passed, N failed" and fails the
# script when anything did.
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect CODE DESCRIPTION -- command...: runs it, checks the exit code, keeps
# stdout in $OUT and stderr in $ERR.
expect() {
  local code=$1 what=$2; shift 3
  OUT=$("$@" 2>"$T/err"); local rc=$?
  ERR=$(cat "$T/err")
  if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, want $code; stderr: $ERR"; fi
}
# has TEXT REGEX / hasnt TEXT REGEX (grep's basic regular expressions)
has() { if grep -q -- "$2" <<<"$1"; then ok; else bad "expected '$2' in: $1"; fi; }
hasnt() { if grep -q -- "$2" <<<"$1"; then bad "did not expect '$2' in: $1"; else ok; fi; }
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
