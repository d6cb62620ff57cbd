# The two commands: `make dev` runs the product locally, `make test` runs every test.
# Both install what they need first (scripts/setup.sh).

.PHONY: dev test setup lint check-template build sam-build clean

dev:
	scripts/dev.sh

test: setup lint check-template
	cargo build --workspace --bins
	cargo test --workspace

setup:
	scripts/setup.sh

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
sam-build: setup
	rustup target add aarch64-unknown-linux-gnu
	SAM_CLI_TELEMETRY=0 sam build

clean:
	cargo clean
	rm -rf node_modules .local
