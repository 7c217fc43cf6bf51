#!/usr/bin/env bash
# Build dependencies outside Cargo: OpenSSL's headers and pkg-config, which rdkafka's `ssl`
# feature links against (TLS and SASL to a managed Kafka), and curl. Installed with apt when missing
# (Debian and Ubuntu; elsewhere install libssl-dev / openssl-devel and pkg-config yourself).
set -euo pipefail
# curl: the HTTP/JSON test posts with it (tests/tests/http_json.rs).
missing=()
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev pkg-config)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "deps: installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "deps: missing ${missing[*]}: install them (libssl-dev is openssl-devel elsewhere)" >&2
  exit 1
fi
