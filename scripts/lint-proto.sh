#!/usr/bin/env bash
# buf lint of the API, then buf breaking against the API as it was on the main branch
# (installs buf from the npm registry when missing).
#
# The baseline is LEADLEDGER_PROTO_BASE if set, else origin/main, else main; when that is
# the commit under test itself (CI on main), the commit before it: every change to main is
# checked against what main served before. A breaking change (FILE rules in buf.yaml: a
# renamed or renumbered field, a removed RPC…) fails; an incompatible API is a new package
# (leadledger.v2) beside the old one, never an edit of v1.
set -euo pipefail
cd "$(dirname "$0")/../proto"
if ! command -v buf >/dev/null 2>&1; then
  echo "lint-proto: installing buf"
  npm install -g --silent @bufbuild/buf@1.75.0 >/dev/null
fi
buf lint
echo "lint-proto: buf lint clean"

base=${LEADLEDGER_PROTO_BASE:-}
if [ -z "$base" ]; then
  for ref in origin/main main; do
    if base=$(git rev-parse -q --verify "$ref^{commit}" 2>/dev/null); then break; fi
    base=
  done
fi
if [ -n "$base" ] && [ "$(git rev-parse "$base")" = "$(git rev-parse HEAD)" ]; then
  base=$(git rev-parse -q --verify "HEAD~1^{commit}" 2>/dev/null || true)
fi
if [ -z "$base" ]; then
  echo "lint-proto: no baseline commit (shallow clone?): buf breaking skipped"
  exit 0
fi
if ! git cat-file -e "$base:proto/buf.yaml" 2>/dev/null; then
  echo "lint-proto: $base has no proto/buf.yaml: buf breaking skipped"
  exit 0
fi
buf breaking --against "$(git rev-parse --show-toplevel)/.git#ref=$(git rev-parse "$base"),subdir=proto"
echo "lint-proto: buf breaking clean against $(git rev-parse --short "$base")"
