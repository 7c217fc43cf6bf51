#!/usr/bin/env bash
# buf lint of the API (installs buf from the npm registry when missing).
set -euo pipefail
cd "$(dirname "$0")/../proto"
if ! command -v buf >/dev/null 2>&1; then
  echo "lint-proto: installing buf"
  npm install -g --silent @bufbuild/buf@1.75.0 >/dev/null
fi
buf lint
echo "lint-proto: buf lint clean"
