# Shared set-up for scripts/workbook, scripts/test and the other scripts: sourced, not run.
#
# Creates a virtual environment (.venv, or IAMKIT_VENV) with Python 3.10 or newer and makes it
# hold exactly what uv.lock pins for the extras named in IAMKIT_EXTRAS, plus iamkit itself
# (editable). With IAMKIT_RESOLUTION=latest it installs instead the newest releases that
# pyproject.toml's ranges allow (the `latest` test lane), ignoring the lock. System packages
# listed in IAMKIT_APT are installed on Debian/Ubuntu when run as root.
#
# The installer is uv, at the version pinned in pyproject.toml ([tool.uv] required-version);
# it is installed into the environment itself with pip. Nothing is re-installed unless uv.lock,
# pyproject.toml or the extras changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${IAMKIT_VENV:-$ROOT/.venv}"
RESOLUTION="${IAMKIT_RESOLUTION:-locked}"
cd "$ROOT"

say() { printf '\033[1m[iamkit]\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

apt_install() {
    # Install Debian packages that are missing, when we can (root and apt-get). A package whose
    # command is already on PATH is not missing (npm comes with NodeSource's nodejs).
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || command -v "$pkg" >/dev/null || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing system packages: ${missing[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 &&
            return 0
        # apt-get installs all or nothing: one package it cannot install (Debian's npm beside NodeSource's
        # nodejs) would hold back the rest, so each is tried on its own.
        local failed=()
        for pkg in "${missing[@]}"; do
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 ||
                failed+=("$pkg")
        done
        [ ${#failed[@]} -eq 0 ] && return 0
        say "apt-get could not install: ${failed[*]}"
        return 1
    else
        say "please install these system packages first: sudo apt-get install ${missing[*]}"
        return 1
    fi
}

find_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3.10 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    PY="$(find_python)" || die "iamkit needs Python 3.10 or newer (set PYTHON=/path/to/python3.x)"
    if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        apt_install python3-venv || die "cannot create a virtual environment with $PY"
        "$PY" -m venv "$VENV"
    fi
fi

if [ -n "${IAMKIT_APT:-}" ]; then
    # shellcheck disable=SC2086
    apt_install $IAMKIT_APT || say "continuing without them"
fi

# uv, at the pinned version, inside the environment.
UV_VERSION="$(sed -n 's/^required-version *= *"==\(.*\)"/\1/p' pyproject.toml)"
[ -n "$UV_VERSION" ] || die "pyproject.toml names no [tool.uv] required-version"
UV="$VENV/bin/uv"
if [ "$("$UV" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >"$VENV/.pip.log" 2>&1 \
        || { cat "$VENV/.pip.log" >&2; die "cannot install uv $UV_VERSION with pip"; }
fi
export UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_NO_PROGRESS=1
export UV_PROJECT_ENVIRONMENT="$VENV"

# From the lock, install only when the lock, pyproject.toml or the extras changed; the stamp remembers every
# extra installed, so switching commands does not re-install.
STAMP="$VENV/.iamkit-installed"
WANT_HASH="$(cat pyproject.toml uv.lock | sha256sum | cut -d' ' -f1) $RESOLUTION"
HAVE_HASH="$(sed -n 1p "$STAMP" 2>/dev/null || true)"
HAVE_EXTRAS="$(sed -n 2p "$STAMP" 2>/dev/null || true)"
[ "$HAVE_HASH" = "$WANT_HASH" ] || HAVE_EXTRAS=""
# shellcheck disable=SC2086
EXTRAS="$(printf '%s\n' ${HAVE_EXTRAS//,/ } ${IAMKIT_EXTRAS//,/ } | sort -u | paste -sd, -)"
# IAMKIT_RELOCKING=1 (scripts/lock): pyproject.toml changed and the lock is about to follow; install nothing yet.
if [ -z "${IAMKIT_RELOCKING:-}" ] && { [ "$RESOLUTION" = latest ] || [ "$HAVE_HASH" != "$WANT_HASH" ] \
                                        || [ "$EXTRAS" != "$HAVE_EXTRAS" ]; }; then
    if [ "$RESOLUTION" = latest ]; then  # every time: the point is to see today's releases
        say "installing the newest iamkit[$EXTRAS] that pyproject.toml allows into $VENV"
        "$UV" pip install --quiet --python "$VENV/bin/python" --upgrade --refresh -e ".[$EXTRAS]"
    else
        say "installing iamkit[$EXTRAS] into $VENV from uv.lock"
        extra_args=()
        for extra in ${EXTRAS//,/ }; do extra_args+=(--extra "$extra"); done
        # --locked: fail if uv.lock is out of date with pyproject.toml (run scripts/lock);
        # --inexact: keep uv itself, which the lock does not list.
        "$UV" sync --quiet --locked --inexact "${extra_args[@]}" \
            || die "cannot install from uv.lock; if pyproject.toml changed, run ./scripts/lock"
    fi
    printf '%s\n%s\n' "$WANT_HASH" "$EXTRAS" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
