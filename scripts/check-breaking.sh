#!/usr/bin/env bash
# The API contract only grows: `buf breaking` compares proto/ with the previous commit (HEAD~1: on main, the main
# before this change) and fails on any removed or renumbered field, changed type, renamed message or service.
#   scripts/check-breaking.sh [REF]   compare with REF instead of HEAD~1
# With no such commit (the first commit, or a shallow clone that cannot be deepened) there is nothing to compare with:
# it says so and exits 0. Any other failure, of git or of buf, fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ref="${1:-HEAD~1}"

if ! git rev-parse --verify -q "$ref^{commit}" >/dev/null; then
  if [ "$(git rev-parse --is-shallow-repository)" = "true" ]; then
    echo "check-breaking: $ref is not in this shallow clone; fetching one more commit"
    git fetch -q --deepen=1 || echo "check-breaking: git fetch --deepen=1 failed"
  fi
fi
if ! git rev-parse --verify -q "$ref^{commit}" >/dev/null; then
  if [ $# -gt 0 ]; then
    echo "check-breaking: no commit $ref" >&2
    exit 1
  fi
  echo "check-breaking: no commit $ref (first commit, or history not available): nothing to compare with, not checked"
  exit 0
fi
if ! git cat-file -e "$ref:buf.yaml" 2>/dev/null; then
  echo "check-breaking: $ref has no buf.yaml (the API did not exist yet): nothing to compare with, not checked"
  exit 0
fi

# The previous contract as files (works in a worktree too, where .git is a file that buf's git input cannot read).
before="$(mktemp -d)"
trap 'rm -rf "$before"' EXIT
git archive "$ref" buf.yaml proto | tar -x -C "$before"
npx buf breaking --against "$before"
echo "proto/ makes no breaking change against $(git rev-parse --short "$ref")"
