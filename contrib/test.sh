#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite twice: on the
# normal build (build/) and on an ASan+UBSan build (build-sanitize/) with the
# `sanitize` test setup, whose findings fail the tests.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

"$top/contrib/bootstrap.sh" || exit 1

if [ ! -f build-sanitize/build.ninja ]; then
  meson setup build-sanitize -Dauto_features=enabled --wrap-mode=nodownload \
    --fatal-meson-warnings -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug >&2 || exit 1
fi
ninja -C build-sanitize >&2 || exit 1

status=0
meson test -C build --print-errorlogs --num-processes 2 || status=1
meson test -C build-sanitize --setup sanitize --print-errorlogs --num-processes 2 || status=1
exit "$status"
