#!/usr/bin/env bash
# Installs what the service and the tests need, idempotently: the Python virtualenv with the
# project's dependencies (pyproject.toml), Debian's redis-server and fonts-noto-cjk (the CJK
# font of photo watermarks, as in docker/Dockerfile), Debian's chromium and chromium-driver
# (the worker page's browser tests), and the embedded MongoDB-wire server
# (mongo-java-server jars from Maven Central + our compiled launcher), and tus-js-client for
# the upload tests (npm, pinned by tests/media/js/package-lock.json, into its git-ignored
# node_modules/).
# A second run only checks stamps and returns in well under a second.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

install_python() {
  local stamp="$VENV/.installed" want
  want=$(stamp_of "$ROOT/pyproject.toml")
  [ -x "$PY" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  command -v python3.11 >/dev/null || command -v python3 >/dev/null || die "python3.11 is required"
  say "installing Python dependencies into .venv"
  [ -x "$PY" ] || "$(command -v python3.11 || command -v python3)" -m venv "$VENV"
  "$PY" -m pip install -q --disable-pip-version-check --upgrade pip
  "$PY" -m pip install -q --disable-pip-version-check -e "$ROOT[test]"
  echo "$want" >"$stamp"
}

# Debian packages, as root or through passwordless sudo; dies naming what failed.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq || die "apt-get update failed; install $* by hand"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "$@" >/dev/null || die "apt-get install $* failed"
}

install_redis() {
  command -v redis-server >/dev/null && return 0
  say "installing redis-server (Debian package)"
  apt_install redis-server
  command -v redis-server >/dev/null || die "redis-server is still missing after installing it"
}

# The watermark font (WATERMARK_FONT's default path); SIL Open Font License 1.1.
CJK_FONT=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
install_cjk_font() {
  [ -f "$CJK_FONT" ] && return 0
  say "installing fonts-noto-cjk (Debian package)"
  apt_install fonts-noto-cjk
  [ -f "$CJK_FONT" ] || die "$CJK_FONT is still missing after installing fonts-noto-cjk"
}

# pdftoppm and pdftotext, with which the label tests read the PDF sheet back.
install_poppler() {
  command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null && return 0
  say "installing poppler-utils (Debian package)"
  apt_install poppler-utils
}

# Debian's chromium and its matching chromedriver, which the worker page's browser tests
# (tests/web/test_worker_browser.py) drive through selenium: no browser is downloaded.
install_chromium() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null && return 0
  say "installing chromium and chromium-driver (Debian packages)"
  apt_install chromium chromium-driver
}

install_mongo_wire() {
  local src="$ROOT/scripts/mongo-wire" dir="$TOOLS/mongo-wire" want
  want=$(stamp_of "$src/pom.xml" "$src/MongoWire.java")
  [ "$(cat "$dir/.installed" 2>/dev/null)" = "$want" ] && return 0
  command -v javac >/dev/null || die "javac (Java 17+) is required for the embedded MongoDB-wire server"
  command -v mvn >/dev/null || die "mvn (Maven) is required to fetch mongo-java-server"
  say "fetching mongo-java-server with Maven and compiling the launcher"
  rm -rf "$dir" && mkdir -p "$dir/lib" "$dir/classes"
  mvn -B -f "$src/pom.xml" dependency:copy-dependencies -DoutputDirectory="$dir/lib" \
    >"$TOOLS/maven.log" 2>&1 \
    || { tail -n 30 "$TOOLS/maven.log" >&2; die "Maven could not fetch mongo-java-server (log: $TOOLS/maven.log)"; }
  javac -nowarn -d "$dir/classes" -cp "$dir/lib/*" "$src/MongoWire.java" \
    || die "javac could not compile scripts/mongo-wire/MongoWire.java"
  echo "$want" >"$dir/.installed"
}

# An npm project's pinned packages (package-lock.json) into its git-ignored node_modules/:
# tus-js-client, as the phones' web view uses it, for tests/media/test_tus_js.py; and
# openapi-typescript, the client generator, for tests/api/test_client_types.py.
install_npm() {
  local dir="$ROOT/$1" what="$2" want
  want=$(stamp_of "$dir/package.json" "$dir/package-lock.json")
  [ "$(cat "$dir/node_modules/.installed" 2>/dev/null)" = "$want" ] && return 0
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing nodejs and npm (Debian packages)"
    apt_install nodejs npm
  fi
  say "installing $what with npm ($1)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || die "npm ci failed in $1"
  echo "$want" >"$dir/node_modules/.installed"
}

install_python
install_redis
install_cjk_font
install_poppler
install_chromium
install_mongo_wire
install_npm tests/media/js tus-js-client
install_npm tests/api/js openapi-typescript
