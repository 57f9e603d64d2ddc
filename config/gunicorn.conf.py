"""Gunicorn, Daiou's production server: `make serve`, or

    DEBUG=0 SECRET_KEY=… ALLOWED_HOSTS=daiou.example .venv/bin/gunicorn -c config/gunicorn.conf.py config.wsgi

Everything here can be changed from the environment (DAIOU_BIND, DAIOU_WORKERS, DAIOU_THREADS,
DAIOU_MAX_REQUESTS, DAIOU_ACCESS_LOG); gunicorn's own GUNICORN_CMD_ARGS and command-line options win over this file.
"""

import multiprocessing
import os

# Where to listen: a local port behind a reverse proxy (nginx, a load balancer) that speaks
# HTTPS, or a Unix socket ("unix:/run/daiou.sock").
bind = [os.environ.get("DAIOU_BIND", "127.0.0.1:8000")]

# Workers for 2 cores. A page is mostly Python (templates, the ORM), which holds the GIL, so
# threads add little beyond overlapping the waits on the database and the cache; processes
# use the cores. 2 × cores + 1 = 5 sync processes keep both cores busy while some wait on
# PostgreSQL or Redis, at ~70 MB each. (bench/http_load.py --workers/--threads/--label compares
# other settings.) Each worker keeps its own PostgreSQL pool (DB_POOL_MIN..DB_POOL_MAX
# connections): workers × DB_POOL_MAX must stay under the server's max_connections.
workers = int(os.environ.get("DAIOU_WORKERS", 2 * multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("DAIOU_THREADS", 1))
worker_class = "gthread" if threads > 1 else "sync"

# A request that takes longer than this is stuck: the worker is killed and replaced. On
# SIGTERM/SIGHUP, workers finish their requests for up to graceful_timeout seconds.
timeout = 30
graceful_timeout = 30
keepalive = 5  # seconds an idle keep-alive connection stays open (gthread workers)
# Workers are not replaced after a number of requests (gunicorn's default). Replacing one costs
# it 0.3–0.7 s, and workers under the same load reach the count together: with 20,000 ± 2,000 the
# whole site stalled for a moment, and the thread page's p99 under wrk went from 15 ms to 140–350.
# Where a memory leak needs it, DAIOU_MAX_REQUESTS turns it on, spread by half as much again.
max_requests = int(os.environ.get("DAIOU_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 2
# The heartbeat file on a memory file system: a slow disk never makes a worker look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Two servers on one machine (a benchmark beside the site) must not share a control socket.
control_socket_disable = True

# One line per request on stdout, with how long it took (%(M)s milliseconds); "" turns it off.
accesslog = os.environ.get("DAIOU_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(f)s" "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("DAIOU_LOG_LEVEL", "info")
# X-Forwarded-* are trusted from the proxy in front only (DAIOU_BEHIND_PROXY in settings).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "daiou"
