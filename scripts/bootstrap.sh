# Shared set-up for scripts/workbook and scripts/test: sourced, not run.
#
# Creates .venv with Python 3.10 or newer, installs iamkit with the extras named in
# IAMKIT_EXTRAS, and installs system packages (Debian/Ubuntu, as root) listed in
# IAMKIT_APT. It re-installs only when pyproject.toml or the extras change.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

say() { printf '\033[1m[iamkit]\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

apt_install() {
    # Install Debian packages that are missing, when we can (root and apt-get).
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing system packages: ${missing[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        say "please install these system packages first: sudo apt-get install ${missing[*]}"
        return 1
    fi
}

find_python() {
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3.10 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
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
    apt_install $IAMKIT_APT || say "continuing without: $IAMKIT_APT"
fi

# Re-install only when pyproject.toml changed or extras are wanted that are not installed yet;
# the stamp remembers every extra installed, so switching commands does not re-install.
STAMP="$VENV/.iamkit-installed"
WANT_HASH="$(sha256sum pyproject.toml | cut -d' ' -f1)"
HAVE_HASH="$(sed -n 1p "$STAMP" 2>/dev/null || true)"
HAVE_EXTRAS="$(sed -n 2p "$STAMP" 2>/dev/null || true)"
[ "$HAVE_HASH" = "$WANT_HASH" ] || HAVE_EXTRAS=""
EXTRAS="$(printf '%s\n' ${HAVE_EXTRAS//,/ } ${IAMKIT_EXTRAS//,/ } | sort -u | paste -sd, -)"
if [ "$HAVE_HASH" != "$WANT_HASH" ] || [ "$EXTRAS" != "$HAVE_EXTRAS" ]; then
    say "installing iamkit[$EXTRAS] into .venv (first run only)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[$EXTRAS]"
    printf '%s\n%s\n' "$WANT_HASH" "$EXTRAS" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
