#!/usr/bin/env bash
# The rollback lock: a ref on the repository's remote, refs/cutover/rollback/<migration>,
# that a rollback holds from before its first AWS write until it has recorded
# what it did. Apply and monitor jobs check it before they act and step aside,
# so a rollback that GitHub runs beside them (it has its own concurrency group)
# is never undone by them.
#
#   rollback-lock.sh take    <migration>   # create or refresh the lock (rollback jobs)
#   rollback-lock.sh release <migration>   # delete it once the rollback is recorded
#   rollback-lock.sh check   <migration>   # exit 3 while a rollback holds it
#
# The token reaches git through GIT_CONFIG_COUNT/KEY/VALUE in the environment
# (CUTOVER_GIT_TOKEN), never on the command line where /proc/*/cmdline shows it.
set -euo pipefail

action="${1:?usage: rollback-lock.sh take|release|check <migration>}"
migration="${2:?usage: rollback-lock.sh take|release|check <migration>}"
if [[ ! "$migration" =~ ^[a-z0-9][a-z0-9-]*$ ]]; then
  echo "::error title=Rollback lock::migration id \"$migration\" is not a lowercase id (letters, digits, dashes)" >&2
  exit 2
fi
ref="refs/cutover/rollback/$migration"

if [[ -n "${CUTOVER_GIT_TOKEN:-}" ]]; then
  echo "::add-mask::$CUTOVER_GIT_TOKEN"
  basic="$(printf 'x-access-token:%s' "$CUTOVER_GIT_TOKEN" | base64 -w0)"
  export GIT_CONFIG_COUNT=1
  export GIT_CONFIG_KEY_0="http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader"
  export GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $basic"
fi

case "$action" in
  take)
    git push --quiet --force origin "HEAD:$ref"
    echo "rollback lock $ref taken"
    ;;
  release)
    git push --quiet origin ":$ref" 2>/dev/null || true
    echo "rollback lock $ref released"
    ;;
  check)
    rc=0
    git ls-remote --exit-code origin "$ref" >/dev/null || rc=$?
    if [[ $rc -eq 0 ]]; then
      echo "::error title=A rollback is in progress::$ref is held: a rollback of $migration is running or died before releasing it; this run steps aside. Once no rollback runs, delete it with: git push origin :$ref" >&2
      exit 3
    elif [[ $rc -ne 2 ]]; then
      # Not knowing is not "free": acting beside a rollback is the one thing to avoid.
      echo "::error title=Rollback lock unreadable::could not read $ref from origin (git exit $rc)" >&2
      exit 1
    fi
    echo "no rollback holds $ref"
    ;;
  *)
    echo "::error::unknown action \"$action\" (take, release or check)" >&2
    exit 2
    ;;
esac
