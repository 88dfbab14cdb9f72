# The two commands: `make run` and `make test`. Both install what is missing.
.PHONY: run test setup

run:
	@scripts/run.sh

test:
	@scripts/test.sh

setup:
	@scripts/setup.sh test
