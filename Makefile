# The two commands of README.md, plus a few conveniences. Every target installs what it needs.
.PHONY: run test bench lint stop install

run:            ## serve the API + worker on the embedded MongoDB-wire server and Redis
	@scripts/run.sh

test:           ## run the whole suite against real servers started for it
	@scripts/test.sh $(ARGS)

bench:          ## benchmarks (ONLY=<part> for one part)
	@scripts/bench.sh $(ONLY)

lint:
	@scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

install:
	@scripts/bootstrap.sh

stop:           ## stop servers left running by an interrupted `make run`
	@scripts/stop.sh
