# zshbench: `make demo` runs the main job, `make test` the test suite. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.zshbench-installed
RESULTS ?= results/demo
DEMO_BITS ?= 64
DEMO_SEEDS ?= 0
export HF_HUB_OFFLINE ?= 1
export GOMP_SPINCOUNT ?= 10000

.PHONY: install demo test test-slow bench gpu-check leaderboard leaderboard-check leaderboard-reference clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## the main job: the flagship deep methods (RAZH, COMAE) trained to their tiny profiles' DEFAULT budgets and the
## four shallow baselines on the built-in `shapes` dataset at 64 bits, seed 0, two runs at a time (one thread each;
## RAZH, the longest, on one worker), then the leaderboard tables. The baseline zoo (dch, csq, dpn, ...) is left
## out to stay within 10 minutes: `make demo DEMO_METHODS="razh comae dch lsh"` or `zshbench run --method dch`.
DEMO_METHODS ?= razh comae lsh itq sh pcah
demo: $(STAMP)
	@echo "demo: $(DEMO_METHODS) on shapes (protocol shapes-zsh), $(DEMO_BITS) bits, seed(s) $(DEMO_SEEDS), default budgets"
	@for m in $(DEMO_METHODS); do echo "$$m"; done \
	| xargs -P 2 -I{} sh -c 'OMP_NUM_THREADS=1 $(BIN)/zshbench run --method {} --dataset shapes \
	  --bits $(DEMO_BITS) --seeds $(DEMO_SEEDS) --results $(RESULTS) --no-progress > /dev/null'
	$(BIN)/zshbench leaderboard --results $(RESULTS)
	$(BIN)/zshbench leaderboard --results $(RESULTS) --setting sa

## the default test suite (slow tests deselected)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## the slow tests only
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

## re-run the committed leaderboard grid (leaderboard/grid.toml), the baseline zoo (zoo.toml), the ablations
## (ablations.toml) and the protocol-effects grids (effects-leaky.toml, effects-splits.toml) as ONE sweep (one
## queue, costliest jobs first, two workers); runs whose record exists are skipped, so an interrupted run resumes
## (LEADERBOARD_GRIDS=zoo runs one part); then regenerate leaderboard/README.md, its CSVs, LaTeX, figures and
## HTML page from the records
LEADERBOARD_GRIDS ?= grid zoo ablations effects-leaky effects-splits
leaderboard: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/zshbench sweep $(foreach g,$(LEADERBOARD_GRIDS),--grid leaderboard/$(g).toml) \
	  --results leaderboard/results --workers 2
	$(BIN)/zshbench report --results leaderboard/results --out leaderboard --readme README.md

## CI: the committed leaderboard matches its records and the code (no hand edits, no invalid/stale/conflicting record,
## protocol hashes match their pins), and the records reproduce: every shallow-method record is re-run, and the deep
## reference records (leaderboard/reference) are re-run the way they were made
leaderboard-check: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/zshbench leaderboard --check --reproduce --results leaderboard/results --out leaderboard \
	  --readme README.md

## the deep methods' reference records that leaderboard-check re-runs (3 optimizer steps each, one thread); remake
## them after a deep method's version changes
REFERENCE_RUNS = razh comae dpsh dsh hashnet dch greedyhash csq dpn orthohash dsdh ddsh adsh jmlh bihalf cibhash tbh \
  sitnet pixel
leaderboard-reference: $(STAMP)
	rm -rf leaderboard/reference
	for m in $(REFERENCE_RUNS); do OMP_NUM_THREADS=1 $(BIN)/zshbench run --method $$m --dataset digits --bits 16 \
	  --seeds 0 --set max_steps=3 --results leaderboard/reference --no-progress || exit 1; done

## the prepared GPU check (benchmarks/gpu_check.py, docs/scaling.md): on a CUDA machine, under 6 minutes; writes
## gpu-check/gpu_check.json and gpu_check.md. GPU_CHECK_ARGS=--cpu runs it on tiny sizes on the CPU
GPU_CHECK_ARGS ?=
gpu-check: $(STAMP)
	$(BIN)/python benchmarks/gpu_check.py --out gpu-check $(GPU_CHECK_ARGS)

## performance benchmarks (see docs/performance.md)
bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest benchmarks -q -p no:cacheprovider

clean:
	rm -rf $(VENV) results .benchmarks
