# Quick start: `make dev` runs the gateway locally, `make test` runs every test.
.PHONY: dev test check build bench fuzz
dev:
	bash scripts/dev.sh
test:
	bash scripts/test.sh
build:
	bash scripts/build-worker.sh
bench:
	cargo bench --bench decision -- --warm-up-time 1 --measurement-time 3
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)
