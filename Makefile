# Daiou: `make run` serves the site at http://127.0.0.1:8000, `make test` runs the test suite.
# Both set up what they need first (a virtualenv in .venv with Python 3.12+, the packages).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run serve test setup migrate demo messages clean-venv

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

# The production server (gunicorn, config/gunicorn.conf.py) with DEBUG off: static files
# collected with hashed names (whitenoise serves them, cached for good), the database migrated.
# It needs SECRET_KEY and ALLOWED_HOSTS, and DAIOU_HTTPS=0 when it is reached over plain HTTP
# without a TLS proxy in front (see README, "Production server").
serve: setup
	@test -n "$$SECRET_KEY" -a -n "$$ALLOWED_HOSTS" || { echo "make serve runs with DEBUG=0: set SECRET_KEY (a long random string, the same on every server) and ALLOWED_HOSTS (the site's host names, comma-separated), e.g. SECRET_KEY=\$$(openssl rand -base64 48) ALLOWED_HOSTS=127.0.0.1 DAIOU_HTTPS=0 make serve"; exit 2; }
	DEBUG=0 $(PY) manage.py migrate --no-input
	DEBUG=0 $(PY) manage.py collectstatic --no-input --verbosity 0
	DEBUG=0 exec $(VENV)/bin/gunicorn -c config/gunicorn.conf.py config.wsgi

test: setup
	@scripts/ensure-chromium
	$(PY) -m pytest $(PYTEST_ARGS)

messages: setup
	$(PY) manage.py makemessages -l ja -l en --no-location -i ".venv/*" -i "var/*" -i "bench/*"
	$(PY) manage.py compilemessages -i .venv

clean-venv:
	rm -rf $(VENV)
