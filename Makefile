# Two commands do all set-up on a fresh machine (see README):
#   make book   build the site into _build/html (creates .venv on first use)
#   make test   run the test suite, which includes the full book build and a
#               real-browser check of the built pages
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HTML   := _build/html
VENDOR := _build/vendor_site/vendor
DRAW   := _build/vendor_site/draw
WEB    := tools/web/node_modules
MODEL  := book/model/fast-s1.pt

.PHONY: book test env vendor digit browser office clean

book: env vendor digit
	rm -rf $(HTML)
	$(BIN)/jupyter-book build . --all -W --keep-going --builder html
	@echo "The book is at $(abspath $(HTML))/index.html"

test: env vendor digit browser office
	$(BIN)/python -m pytest

env: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# MathJax, require.js, the ipywidgets HTML manager and ONNX Runtime Web (single-thread WebAssembly),
# served by the site itself (pinned in tools/web/package-lock.json) so pages work with no network.
vendor: $(VENDOR)/.copied
$(VENDOR)/.copied: tools/web/package.json tools/web/package-lock.json tools/web/widgets-config.js tools/web/draw.js
	npm ci --prefix tools/web --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/requirejs $(VENDOR)/html-manager $(VENDOR)/ort
	cp -r $(WEB)/mathjax/es5 $(VENDOR)/mathjax
	cp $(WEB)/onnxruntime-web/dist/ort.wasm.min.js $(WEB)/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs \
	   $(WEB)/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm $(VENDOR)/ort/
	cp tools/web/draw.js $(VENDOR)/
	cp $(WEB)/requirejs/require.js $(VENDOR)/requirejs/
	cp tools/web/widgets-config.js $(VENDOR)/
	cp $(WEB)/@jupyter-widgets/html-manager/dist/*.js $(WEB)/@jupyter-widgets/html-manager/dist/*.txt \
	   $(WEB)/@jupyter-widgets/html-manager/dist/*.woff* $(WEB)/@jupyter-widgets/html-manager/dist/*.ttf \
	   $(WEB)/@jupyter-widgets/html-manager/dist/*.eot $(WEB)/@jupyter-widgets/html-manager/dist/*.svg \
	   $(VENDOR)/html-manager/
	touch $@

# The draw-a-digit page's model: the committed checkpoint exported to ONNX, with sample test digits.
digit: $(DRAW)/.exported
$(DRAW)/.exported: $(MODEL) $(MODEL:.pt=.json) s6lib/digit.py $(VENV)/.installed
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

clean:
	rm -rf _build
