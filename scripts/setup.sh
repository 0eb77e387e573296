#!/usr/bin/env bash
# Installs the Debian packages in scripts/packages.txt (only when one is
# missing) and configures + builds the default build tree.
#
#   bash scripts/setup.sh
#
# Environment:
#   STUBE_BUILD_DIR  build tree to configure (default: build)
#   STUBE_BUILD_TARGETS  targets to build, space-separated (default: all;
#                    scripts/run.sh builds only stube-demo)
#   STUBE_SKIP_BUILD=1  install packages (and npm ci) only, no build
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${STUBE_BUILD_DIR:-build}

wanted_packages() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' scripts/packages.txt | grep -v '^$'
}

is_installed() {
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

# apt-get needs root; use sudo when we are not root and it is available.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@" || {
      echo "setup: need root or passwordless sudo to run: $*" >&2
      return 1
    }
  else
    echo "setup: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

install_packages() {
  local missing=() pkg
  while read -r pkg; do
    is_installed "$pkg" || missing+=("$pkg")
  done < <(wanted_packages)
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "setup: all $(wanted_packages | wc -l) packages already installed"
    return
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" </dev/null
}

configure_and_build() {
  local targets=()
  read -r -a targets <<<"${STUBE_BUILD_TARGETS:-}"
  ((${#targets[@]})) && targets=(--target "${targets[@]}")
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTUBE_WERROR=ON
  cmake --build "$build_dir" -j2 "${targets[@]}"
}

# ---- npm packages (server helper) ---------------------------------------------
# The Datastar client the server embeds at build time and playwright-core for
# the browser tests, pinned in package.json + package-lock.json. `npm ci`
# installs exactly the locked versions; skipped when node_modules already
# matches the lock file.
install_npm_packages() {
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    echo "setup: npm is missing (Node.js >= 20 with npm is needed for the web assets)" >&2
    return 1
  fi
  # npm only warns about playwright-core's engines field; an older Node.js
  # would fail later, in the browser tests.
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  if ((node_major < 20)); then
    echo "setup: Node.js $(node --version) is too old: the browser tests need Node.js >= 20" >&2
    return 1
  fi
  local stamp=node_modules/.stube-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "setup: npm packages up to date"
    return
  fi
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
}

install_packages
install_npm_packages
if [[ ${STUBE_SKIP_BUILD:-0} != 1 ]]; then
  configure_and_build
fi
