# nl3-okta-hook: `make run` runs the hook locally, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup run try smoke readme-check test lint docs-check unit-test template-check zip bench bench-guard fuzz fault-matrix admin-stand-in admin-stand-in-stop clean

## setup: Python tools (cargo-lambda, moto, cfn-lint …) into .venv
setup: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "$(PYTHON) cannot make a venv: install python3-venv (Debian/Ubuntu: apt-get install python3-venv)"; \
		rm -rf $(VENV); exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	@echo "== installing the Python tools into $(VENV)/ (cargo-lambda, moto, cfn-lint, sam …): about a minute, ~1.2 GB"
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt || { rm -rf $(VENV); exit 1; }
	@touch $@

## run: the hook under `cargo lambda watch` with local NL3/ipinfo stand-ins (no AWS, no internet)
run: setup
	local/run.sh

## try: every sample event sent to the local hook, one line each, then a sign-in of a locked and
## an unlocked user through the guard's event hook, one line each (starts it all if need be)
try: setup
	local/try.sh

## smoke: a deployed hook answers Okta's token sample (STACK=<stack name>; or NL3_HOOK_URL, API_KEY
## or SECRET_ID, and GATEWAY_API_KEY behind API Gateway): its decision, the time, a wrong secret's
## answer, and how to follow its log
smoke: setup
	@$(VENV)/bin/python local/smoke.py $(if $(STACK),--stack $(STACK))

## readme-check: the README's "Trying it locally" commands, run as written, answers as commented
readme-check: setup
	local/readme-check.sh

## test: formatting, lints, docs that cannot drift, unit + integration + end-to-end tests, template
## checks, README check
test: setup lint docs-check unit-test template-check readme-check

## docs-check: every link and anchor in README.md and docs/ resolves, every setting the code reads
## is in docs/configuration.md (and nothing else), every variable in a shell snippet is one the
## code reads (the admin crate's tests hold `nl3-okta-admin --help` to docs/admin-cli.md)
docs-check:
	python3 .ci/docs-check.py

lint:
	python3 .ci/layers.py
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit-test:
	@if command -v cargo-nextest >/dev/null; then \
		cargo nextest run --workspace --locked --no-fail-fast; \
	else \
		cargo test --workspace --locked --no-fail-fast; \
	fi

template-check: setup
	@if [ -x .ci/check-template.sh ]; then .ci/check-template.sh; fi

## zip: the deployable Lambda zip (ARCH=x86_64 or arm64). arm64 builds with Debian's rustc-web and
## its arm64 std (.ci/arm64-toolchain.sh, cached in .toolchains/), zig as the linker, rustup off
## PATH - no toolchain download - into its own target dir.
ARCH ?= x86_64
ARM64_TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)/arm64
zip: setup
	@set -e; if [ "$(ARCH)" = arm64 ]; then \
		eval "$$(.ci/arm64-toolchain.sh)"; \
		export CARGO_TARGET_DIR="$(ARM64_TARGET_DIR)"; \
		cargo lambda build --release --arm64 --bin nl3-okta-hook --output-format zip; \
		ls -l "$$CARGO_TARGET_DIR/lambda/nl3-okta-hook/bootstrap.zip"; \
	elif [ "$(ARCH)" = x86_64 ]; then \
		cargo lambda build --release --x86-64 --bin nl3-okta-hook --output-format zip; \
		ls -l $${CARGO_TARGET_DIR:-target}/lambda/nl3-okta-hook/bootstrap.zip; \
	else \
		echo "ARCH must be x86_64 or arm64"; exit 2; \
	fi

## bench: side-by-side with NL3's reference handler, the decision path's own time, then the
## after-sign-in guard's receiver and worker (bench-guard)
bench: setup
	@echo "make bench: about 4½ minutes of measuring (2½ of them the guard's), after the release builds when they are not built yet (about 10 more minutes on 2 cores)."
	@dir="$${NL3_REFERENCE_DIR:-../shared/reference}"; \
	if [ -f "$$dir/nl3_reference_handler.py" ]; then found=found; else found="NOT found: only the hook's figures will be printed"; fi; \
	echo "The side-by-side needs NL3's sample handler, nl3_reference_handler.py in NL3_REFERENCE_DIR (default ../shared/reference): $$dir, $$found."
	cargo bench --bench side_by_side
	cargo bench --bench decision
	$(MAKE) --no-print-directory bench-guard

## bench-guard: the guard's receiver (a 10-event delivery's acknowledgement) and worker (10
## locked users contained, events/s), uncapped and at a 128 MB Lambda's CPU share
bench-guard: setup
	cargo bench -p nl3-okta-admin --bench guard

## fault-matrix: the failure table of docs/operations.md, measured (one line per case)
fault-matrix: setup
	@dir=$${CARGO_TARGET_DIR:-target}; mkdir -p "$$dir"; set -o pipefail; \
	cargo test --locked -p nl3-okta-hook --test it -- faults:: secrets_manager:: oauth::jwks e2e::missing_setting \
		--nocapture --test-threads 1 2>&1 | tee "$$dir/fault-matrix.log" | grep -o 'FAULT-MATRIX.*'

## fuzz: the request path before any network call (FUZZ_SECONDS, default 60)
fuzz: setup
	fuzz/run.sh $${FUZZ_SECONDS:-60}

## admin-stand-in: the Okta Management API stand-in on :8089 with a sample org, for trying
## nl3-okta-admin, in the background (admin-stand-in-stop stops it)
STAND_IN_DIR = $(or $(CARGO_TARGET_DIR),target)/admin-stand-in
admin-stand-in: setup
	@mkdir -p $(STAND_IN_DIR)
	@if [ -f $(STAND_IN_DIR)/pid ] && kill -0 $$(cat $(STAND_IN_DIR)/pid) 2>/dev/null; then \
		echo "the Okta stand-in is already running (pid $$(cat $(STAND_IN_DIR)/pid))"; exit 0; fi; \
	$(VENV)/bin/python tests/okta_stand_in/server.py 8089 --seed tests/okta_stand_in/sample-org.json --detach \
		>$(STAND_IN_DIR)/log 2>&1 & echo $$! > $(STAND_IN_DIR)/pid; \
	for _ in $$(seq 1 100); do grep -q '^seeded org' $(STAND_IN_DIR)/log && break; sleep 0.1; done; \
	cat $(STAND_IN_DIR)/log; echo "(in the background; make admin-stand-in-stop stops it)"

admin-stand-in-stop:
	@if [ -f $(STAND_IN_DIR)/pid ]; then kill $$(cat $(STAND_IN_DIR)/pid) 2>/dev/null || true; rm -f $(STAND_IN_DIR)/pid; fi

clean:
	cargo clean
	rm -rf $(VENV)
