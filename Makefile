# Two commands do all set-up on a fresh machine (see README):
#   make book   build the site into _build/html (creates .venv on first use)
#   make test   run the test suite, which includes the full book build and a
#               real-browser check of the built pages
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HTML   := _build/html
VENDOR := _build/vendor_site/vendor
WEB    := tools/web/node_modules

.PHONY: book test env vendor browser office clean

book: env vendor
	rm -rf $(HTML)
	$(BIN)/jupyter-book build . --all -W --keep-going --builder html
	@echo "The book is at $(abspath $(HTML))/index.html"

test: env vendor browser office
	$(BIN)/python -m pytest

env: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# MathJax, require.js and the ipywidgets HTML manager, served by the site itself
# (pinned in tools/web/package-lock.json) so pages render with no network.
vendor: $(VENDOR)/.copied
$(VENDOR)/.copied: tools/web/package.json tools/web/package-lock.json tools/web/widgets-config.js
	npm ci --prefix tools/web --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/requirejs $(VENDOR)/html-manager
	cp -r $(WEB)/mathjax/es5 $(VENDOR)/mathjax
	cp $(WEB)/requirejs/require.js $(VENDOR)/requirejs/
	cp tools/web/widgets-config.js $(VENDOR)/
	cp $(WEB)/@jupyter-widgets/html-manager/dist/*.js $(WEB)/@jupyter-widgets/html-manager/dist/*.txt \
	   $(WEB)/@jupyter-widgets/html-manager/dist/*.woff* $(WEB)/@jupyter-widgets/html-manager/dist/*.ttf \
	   $(WEB)/@jupyter-widgets/html-manager/dist/*.eot $(WEB)/@jupyter-widgets/html-manager/dist/*.svg \
	   $(VENDOR)/html-manager/
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
