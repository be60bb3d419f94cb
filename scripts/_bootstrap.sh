# Sourced by scripts/demo, scripts/test and scripts/bench: makes sure this
# machine can run SoulSync. Idempotent and quick when nothing is missing.
#  - on Debian/Ubuntu as root: installs the system libraries Qt needs
#  - creates .venv when missing and (re)installs the project when
#    pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

QT_SYSTEM_LIBS=(libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libpulse0
  libfontconfig1 libdbus-1-3 libglib2.0-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxrender1
  libxi6 libsm6 libice6 fonts-dejavu-core)

ensure_system_libs() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  local missing=()
  for pkg in "${QT_SYSTEM_LIBS[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: Qt may need these system packages: ${missing[*]} (install them with your package manager)" >&2
    return 0
  fi
  echo "Installing system libraries: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || \
    echo "warning: could not install some of: ${missing[*]}" >&2
}

ensure_venv() {
  local py="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv" >&2
    "$py" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  fi
  local stamp=.venv/.soulsync-installed
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing SoulSync and its dependencies into .venv" >&2
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$want" > "$stamp"
  fi
}
