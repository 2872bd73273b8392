#!/usr/bin/env bash
# Installs what switchboard needs to build on Debian 12 / Ubuntu (only the
# packages that are missing), then configures and builds build/.
#
#   contrib/bootstrap.sh            install + configure + build
#   contrib/bootstrap.sh --deps     install only
#
# --with-test-shells also installs zsh and fish, which the completion tests
# run (they are skipped without them); contrib/test.sh passes it.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(
  g++ meson ninja-build cmake pkg-config
  libuv1-dev libvterm-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev libsqlite3-dev doctest-dev
  scdoc mandoc
  bash python3 tmux
)
deps_only=false
for argument in "$@"; do
  case "$argument" in
    --deps) deps_only=true ;;
    --with-test-shells) packages+=(zsh fish) ;;
    *)
      echo "bootstrap: unknown option $argument (--deps, --with-test-shells)" >&2
      exit 2
      ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: missing ${missing[*]}, and apt-get is not available; install them by hand" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "bootstrap: missing ${missing[*]}; run as root or install sudo" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "bootstrap: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

if [ "$deps_only" = true ]; then
  exit 0
fi

cd "$top"
if [ ! -f build/build.ninja ]; then
  meson setup build -Dauto_features=enabled --wrap-mode=nodownload --fatal-meson-warnings >&2
fi
ninja -C build >&2
