#!/usr/bin/env bash
# cargo-deny: licenses, bans and sources of the dependency graph (deny.toml); advisories too
# when LEADLEDGER_DENY_ADVISORIES=1 (they need the RustSec database from github.com).
# Installs cargo-deny (pinned) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$DENY_VERSION"; then
  echo "deny: installing cargo-deny $DENY_VERSION"
  cargo install cargo-deny --version "$DENY_VERSION" --locked
fi
checks=(licenses bans sources)
if [ "${LEADLEDGER_DENY_ADVISORIES:-0}" = 1 ]; then
  checks+=(advisories)
fi
cargo deny --log-level error check "${checks[@]}"
echo "deny: ${checks[*]} clean"
