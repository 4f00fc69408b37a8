# The two commands of README.md, plus a few conveniences. Every target installs what it needs.
.PHONY: run test bench fuzz lint stop install

run:            ## serve the API + worker on the embedded MongoDB-wire server and Redis
	@scripts/run.sh

test:           ## run the whole suite against real servers started for it
	@scripts/test.sh $(ARGS)

fuzz:           ## schemathesis with fresh random examples (EXAMPLES=<n> per operation and role, default 200)
	@FUZZ_EXAMPLES=$${EXAMPLES:-200} scripts/test.sh tests/api/test_fuzz.py -q $(ARGS)

bench:          ## benchmarks (ONLY=<part> for one part)
	@scripts/bench.sh $(ONLY)

lint:
	@scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

install:
	@scripts/bootstrap.sh

stop:           ## stop servers left running by an interrupted `make run`
	@scripts/stop.sh
