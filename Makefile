# The two commands: `make dev` runs the product locally, `make test` runs every test.
# Both install what they need first (scripts/setup.sh).

.PHONY: dev test setup lint check-template build sam-build bench clean

dev:
	scripts/dev.sh

test: setup lint check-template
	cargo build --workspace --bins
	cargo test --workspace

setup:
	scripts/setup.sh --test

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

check-template:
	cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 sam validate --lint
	actionlint

build:
	cargo build --workspace --bins

# What `sam deploy` ships: every function cross-compiled for arm64 (release, LTO).
sam-build:
	scripts/setup.sh --deploy
	rustup target add aarch64-unknown-linux-gnu
	SAM_CLI_TELEMETRY=0 sam build

# Cold start, warm latency, memory, CPU and DynamoDB cost per call of every function (host
# release build, against DynamoDB Local), latency through the local stack, find at 1,000 vs
# 100,000 contacts, and the size of each zipped arm64 package: prints the tables and
# writes docs/PERFORMANCE.md. It needs the local stack's tools (--dev: Java, DynamoDB Local,
# cargo-lambda) and `zip`. Each function is built on its own, as `sam build` and
# `cargo lambda watch` build it: features resolve per function, so a build of several
# at once would be a different binary (and watch would relink each on its first call).
FUNCTIONS = authorizer create-contact get-contact update-contact find-contacts add-tags remove-tags responder

bench:
	scripts/setup.sh --dev
	command -v zip >/dev/null || (apt-get update -qq && apt-get install -y -qq zip)
	for f in $(FUNCTIONS); do cargo build --release --bin $$f || exit 1; done
	cargo build --release -p local-gateway
	rustup target add aarch64-unknown-linux-gnu
	for f in $(FUNCTIONS); do cargo lambda build --release --arm64 --bin $$f || exit 1; done
	cargo run --release -p contacts-bench

clean:
	cargo clean
	rm -rf node_modules .local
