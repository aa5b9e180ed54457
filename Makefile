# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed

.PHONY: run test install migrate seed demo bench clean lock chromium translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed

# Demo data once (later runs keep what you changed); prints the demo logins.
demo: seed
	@$(FLASK) demo --scale small

run: demo
	@echo "Serving on http://127.0.0.1:5000 (Ctrl+C to stop)"
	$(FLASK) run --host 127.0.0.1 --port 5000

# The browser tests drive Debian's Chromium (Playwright cannot download its own browsers here).
CHROMIUM ?= /usr/bin/chromium

chromium:
	@test -x $(CHROMIUM) || { if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	  else echo "$(CHROMIUM) is missing: run 'sudo apt-get install -y chromium' for the browser tests" >&2; exit 1; fi; }

test: install chromium
	$(BIN)/bandit -q -r app
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The full pinned dependency set, for auditors (pip-audit -r requirements.lock, elsewhere).
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^pip==' > requirements.lock

# Public pages in en/fr/es/ar: extract the marked strings, merge them into each language's catalogue,
# compile the .mo files (committed, so a fresh clone needs no build step). Translate the new empty
# msgstr in app/translations/<lang>/LC_MESSAGES/messages.po, then run this again.
BABEL_KEYWORDS := -k lazy_gettext -k _l
translations: install
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --omit-header --sort-output -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(BIN)/pybabel compile -d app/translations --statistics

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
