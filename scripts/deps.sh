#!/usr/bin/env bash
# Build dependencies outside Cargo: OpenSSL's headers and pkg-config, which rdkafka's `ssl`
# feature links against (TLS and SASL to a managed Kafka). Installed with apt when missing
# (Debian and Ubuntu; elsewhere install libssl-dev / openssl-devel and pkg-config yourself).
set -euo pipefail
if pkg-config --exists openssl 2>/dev/null; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "deps: installing libssl-dev and pkg-config"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config >/dev/null
else
  echo "deps: OpenSSL development files are missing: install libssl-dev (or openssl-devel) and pkg-config" >&2
  exit 1
fi
