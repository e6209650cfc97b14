# zshbench: `make demo` runs the main job, `make test` the test suite. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.zshbench-installed
RESULTS ?= results/demo
DEMO_BITS ?= 32,64
DEMO_SEEDS ?= 0
export HF_HUB_OFFLINE ?= 1
export GOMP_SPINCOUNT ?= 10000

.PHONY: install demo test test-slow bench leaderboard leaderboard-check leaderboard-reference clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## every registered method (variants and ablations aside) on the built-in `shapes` dataset, at two code
## lengths, two runs at a time (one thread each; the deep runs first, one process per code length, razh, the
## longest, before comae; one process per shallow method), then the leaderboard table
demo: $(STAMP)
	@{ for m in $$($(BIN)/zshbench list methods --names --no-variants --inputs images | sort -r); do \
	     for b in $$(echo $(DEMO_BITS) | tr , ' '); do echo "$$m $$b"; done; done; \
	   for m in $$($(BIN)/zshbench list methods --names --no-variants --inputs features); do \
	     echo "$$m $(DEMO_BITS)"; done; } \
	| xargs -P 2 -n 2 sh -c 'OMP_NUM_THREADS=1 $(BIN)/zshbench run --method "$$0" --dataset shapes \
	  --bits "$$1" --seeds $(DEMO_SEEDS) --results $(RESULTS) --no-progress > /dev/null && echo "done: $$0 $$1 bits"'
	$(BIN)/zshbench leaderboard --results $(RESULTS)
	$(BIN)/zshbench leaderboard --results $(RESULTS) --metric map@all

## the default test suite (slow tests deselected)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## the slow tests only
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

## re-run the committed leaderboard grid (leaderboard/grid.toml; runs whose record exists are skipped, so an
## interrupted run resumes), then regenerate leaderboard/README.md, its CSVs and figures from the records
leaderboard: $(STAMP)
	$(BIN)/zshbench sweep --grid leaderboard/grid.toml --results leaderboard/results --workers 2
	$(BIN)/zshbench report --results leaderboard/results --out leaderboard --readme README.md

## CI: the committed leaderboard matches its records and the code (no hand edits, no invalid/stale/conflicting record,
## protocol hashes match their pins), and the records reproduce: every shallow-method record is re-run, and the deep
## reference records (leaderboard/reference) are re-run the way they were made
leaderboard-check: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/zshbench leaderboard --check --reproduce --results leaderboard/results --out leaderboard \
	  --readme README.md

## the deep methods' reference records that leaderboard-check re-runs (3 optimizer steps each, one thread); remake
## them after a deep method's version changes
REFERENCE_RUNS = razh comae
leaderboard-reference: $(STAMP)
	rm -rf leaderboard/reference
	for m in $(REFERENCE_RUNS); do OMP_NUM_THREADS=1 $(BIN)/zshbench run --method $$m --dataset digits --bits 16 \
	  --seeds 0 --set max_steps=3 --results leaderboard/reference --no-progress || exit 1; done

## performance benchmarks (see docs/performance.md)
bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest benchmarks -q -p no:cacheprovider

clean:
	rm -rf $(VENV) results .benchmarks
