#!/usr/bin/env bash
# The classroom lane: a hub on loopback, three learners created through its REST API, lesson 06 in each
# learner's server (one answers wrong), nbgrader's collect and autograde, the grades checked against
# iamkit's checkers, two learners' sandboxes checked apart, and the hub stopped with nothing left behind.
# Measurements (start time and memory per learner) go to test-artifacts/classroom/measurements.txt,
# the hub's log to test-artifacts/classroom/jupyterhub.log. Arguments go to pytest.
IAMKIT_EXTRAS=workbook,test,classroom
IAMKIT_APT=graphviz
# shellcheck source=scripts/bootstrap.sh
source "$(dirname "$0")/../scripts/bootstrap.sh"
command -v npm >/dev/null || apt_install nodejs npm || die "the hub's proxy needs Node.js 20 or newer and npm"
export PYTHONDONTWRITEBYTECODE=1 IAMKIT_CLASSROOM_LANE=1

(cd "$ROOT/classroom" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in classroom/"

# Everything the lane makes in temporary folders (the class's state, the sandboxes) goes here, so what
# is left afterwards is plain to see.
TMPDIR="$(mktemp -d -t iamkit-classroom-lane-XXXXXX)"
export TMPDIR
status=0
python -m pytest -p no:nbval -p no:cacheprovider -q --timeout=600 --basetemp="$TMPDIR/pytest" tests/classroom "$@" \
    || status=$?
left="$(find "$TMPDIR" -mindepth 1 -maxdepth 1 ! -name pytest 2>/dev/null)"  # pytest's own tmp_path folders aside
rm -rf "$TMPDIR"
if [ -n "$left" ]; then
    say "the lane left temporary files behind:"
    printf '  %s\n' $left >&2
    status=1
fi
exit $status
