# The two commands: `make dev` runs the product locally, `make test` runs every test.
# `make check` is the fast tier `make test` starts with: no local stack, under 2 minutes warm.
# Each installs what it needs first (scripts/setup.sh): Python tools into the project's
# own virtual environment (.local/venv), whose bin/ comes first on PATH for every recipe.

export PATH := $(CURDIR)/.local/venv/bin:$(PATH)

# The integration tests that need no local stack (files of tests/tests/).
CHECK_TESTS := --test template --test openapi --test dependencies

.PHONY: dev check test lint check-template build sam-build bench clean

# DynamoDB Local, the functions under cargo lambda watch and the local gateway on
# 127.0.0.1:3000, supervised by local-stack (local/stack/): Ctrl-C stops it all.
dev:
	scripts/setup.sh --dev
	cargo build --workspace --bins
	cargo run --quiet -p local-stack

# The fast tier: formatting, clippy, every crate's unit tests (the service and handlers
# on the in-memory store), the template and OpenAPI checks, and what each function links.
check:
	scripts/setup.sh --check
	$(MAKE) --no-print-directory lint check-template
	cargo test --workspace --lib --bins
	cargo test -p contacts-tests $(CHECK_TESTS)

# Everything: the fast tier, then the store, admin, make dev, end-to-end, webhook, fuzzing,
# fault and security tests against the local stack.
test: check
	scripts/setup.sh --test
	cargo build --workspace --bins
	cargo test --workspace --no-fail-fast

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
	SAM_CLI_TELEMETRY=0 sam build

# Cold start, warm latency, memory, CPU and DynamoDB cost per call of every function (host
# release build, against DynamoDB Local), latency through the local stack, find at 1,000 vs
# 100,000 contacts, and the size of each zipped arm64 package: prints the tables and
# writes docs/PERFORMANCE.md. The bench builds each function of the table on its own, as
# `sam build` does.
bench:
	scripts/setup.sh --bench
	cargo run --release -p contacts-bench

clean:
	cargo clean
	rm -rf node_modules .local
