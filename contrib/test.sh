#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite twice: on the
# normal build (build/) and on an ASan+UBSan build (build-sanitize/) with the
# `sanitize` test setup, whose findings fail the tests.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# Prints how long each phase took, for the CI log.
phase_start=$SECONDS
phase_done() {
  echo "test.sh: $1 took $((SECONDS - phase_start)) s" >&2
  phase_start=$SECONDS
}

"$top/contrib/bootstrap.sh" --with-test-shells || exit 1
phase_done "bootstrap (build/)"

if [ ! -f build-sanitize/build.ninja ]; then
  meson setup build-sanitize -Dauto_features=enabled --wrap-mode=nodownload \
    --fatal-meson-warnings -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug >&2 || exit 1
fi

# The tests of build/ spend most of their time waiting on processes and
# timers, so they run while build-sanitize/ compiles rather than after it.
# ninja's output is held until the tests end, so the two do not interleave.
status=0
meson test -C build --print-errorlogs --num-processes 2 &
tests_pid=$!
ninja -C build-sanitize >build-sanitize/ninja-output.txt 2>&1
build_status=$?
phase_done "build-sanitize/ (beside the tests on build/)"
wait "$tests_pid" || status=1
phase_done "rest of the tests on build/"
cat build-sanitize/ninja-output.txt >&2
if [ "$build_status" -ne 0 ]; then
  exit 1
fi

# Under the sanitizers the tests wait on processes and timers even more
# than on build/, so three run at once on two cores.
meson test -C build-sanitize --setup sanitize --print-errorlogs --num-processes 3 || status=1
phase_done "tests on build-sanitize/"
exit "$status"
