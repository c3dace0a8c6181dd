# Two commands do all set-up on a fresh machine (see README):
#   make book   build the site into _build/html (creates .venv on first use)
#   make student build the student edition into _build/student (see README)
#   make test   lint, then the test suite, which includes the full book build
#               and a real-browser check of the built pages
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HTML   := _build/html
VENDOR := _build/vendor_site/vendor
DRAW   := _build/vendor_site/draw
WEB    := tools/web/node_modules
MODEL  := book/model/fast-s1.pt

.PHONY: book student test lint env vendor digit browser office assignments clean

book: env vendor digit
	rm -rf $(HTML)
	$(BIN)/jupyter-book build . --all -W --keep-going --builder html
	@echo "The book is at $(abspath $(HTML))/index.html"

# The student edition: no solutions, no answer values, a starter workbook (tools/student_edition.py):
# the student repository in _build/student/source, its site in _build/student/html.
student: env vendor digit
	$(BIN)/python tools/student_edition.py

test: env vendor digit browser office lint
	$(BIN)/python -m pytest

# pyflakes, pycodestyle and import order, as configured in pyproject.toml
lint: env
	$(BIN)/ruff check .

env: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# What the pages load, served by the site itself (pinned in tools/web/package-lock.json) so that
# they work with no network, and nothing else: MathJax 3's TeX-to-HTML build with its fonts, the
# TeX extensions it loads on demand and the accessibility tools its menu offers; require.js and
# the ipywidgets HTML manager (one script and its web fonts); the draw-a-digit page's scripts.
MATHJAX := $(WEB)/mathjax/es5
WIDGETS := $(WEB)/@jupyter-widgets/html-manager
vendor: $(VENDOR)/.copied
$(VENDOR)/.copied: tools/web/package.json tools/web/package-lock.json tools/web/widgets-config.js tools/web/draw.js \
                   tools/web/net.js
	npm ci --prefix tools/web --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/mathjax/output/chtml/fonts $(VENDOR)/mathjax/input/tex \
	   $(VENDOR)/requirejs $(VENDOR)/html-manager
	cp $(MATHJAX)/tex-chtml.js $(WEB)/mathjax/LICENSE $(VENDOR)/mathjax/
	cp -r $(MATHJAX)/output/chtml/fonts/woff-v2 $(VENDOR)/mathjax/output/chtml/fonts/
	cp -r $(MATHJAX)/input/tex/extensions $(VENDOR)/mathjax/input/tex/
	cp -r $(MATHJAX)/a11y $(MATHJAX)/sre $(MATHJAX)/ui $(VENDOR)/mathjax/
	cp $(WEB)/requirejs/require.js $(VENDOR)/requirejs/
	cp $(WIDGETS)/dist/embed-amd.js $(WIDGETS)/dist/*.woff2 $(VENDOR)/html-manager/
	cp tools/web/widgets-config.js tools/web/draw.js tools/web/net.js $(VENDOR)/
	touch $@

# The draw-a-digit page's network: the committed checkpoint as layers and weights for
# tools/web/net.js, with sample test digits (which the training chapter's gallery, made from the
# records, shows).
digit: $(DRAW)/.exported
$(DRAW)/.exported: $(MODEL) $(MODEL:.pt=.json) s6lib/mnist/digit.py $(VENV)/.installed $(wildcard book/runs/*/*.json)
	rm -rf $(DRAW)
	$(BIN)/python -m s6lib export-digit --checkpoint $(MODEL) --out-dir $(DRAW)
	touch $@

# Debian's chromium for the browser check (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser check needs Chromium: install it (Debian/Ubuntu: sudo apt-get install chromium) and re-run."; exit 1; fi; }

# LibreOffice, which the tests use to open and recompute the generated .xlsx.
office:
	@command -v soffice >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null; \
	  else echo "The .xlsx check needs LibreOffice: install it (Debian/Ubuntu: sudo apt-get install libreoffice-calc-nogui) and re-run."; exit 1; fi; }

# The self-grading assignments (assignments/README.md): `otter assign` turns each master notebook
# into a student notebook (student/) and an autograder with its zip (autograder/).
ASSIGNMENTS := backprop small_net
assignments: env
	@for name in $(ASSIGNMENTS); do \
	  rm -rf _build/assignments/$$name && \
	  (cd assignments/$$name && $(abspath $(BIN))/otter assign $$name.ipynb $(abspath _build/assignments)/$$name) || exit 1; \
	done
	@echo "The assignments are in $(abspath _build/assignments)"

clean:
	rm -rf _build
