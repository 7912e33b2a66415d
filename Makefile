# Quick start: `make dev` runs the gateway locally, `make test` runs every test.
.PHONY: dev test check build bench fuzz
dev:
	bash scripts/dev.sh
test:
	bash scripts/test.sh
build:
	bash scripts/build-worker.sh
bench:
	bash scripts/bench.sh
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)
