# Daiou: `make run` serves the site at http://127.0.0.1:8000, `make test` runs the test suite.
# Both set up what they need first (a virtualenv in .venv with Python 3.12+, the packages).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup migrate demo messages clean-venv

$(STAMP): requirements.txt
	@test -x $(PY) || { python=$$(scripts/find-python) && "$$python" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(PY) manage.py migrate --no-input

demo: migrate
	$(PY) manage.py load_demo

run: demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: setup
	@scripts/ensure-chromium
	$(PY) -m pytest $(PYTEST_ARGS)

messages: setup
	$(PY) manage.py makemessages -l ja -l en --no-location -i ".venv/*" -i "var/*" -i "bench/*"
	$(PY) manage.py compilemessages -i .venv

clean-venv:
	rm -rf $(VENV)
