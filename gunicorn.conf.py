"""gunicorn settings for `gunicorn wsgi:app` (gunicorn reads ./gunicorn.conf.py by itself).

Command-line flags override these; so do the environment variables named below.
"""

import multiprocessing
import os

# Loopback by default: a reverse proxy (nginx) faces the internet, not gunicorn.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# Sync workers, one request at a time each: the classic 2 x cores + 1, capped so a big
# machine does not start dozens of ~50 MB processes (and database connections) it cannot use.
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
worker_class = "sync"

# A request that takes 30 s is stuck (pages answer in milliseconds, a locked SQLite database
# gives up after its 5 s busy timeout and answers 503): kill the worker and start another.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
# The proxy holds client connections; keep-alive to it only needs to span its reuse.
keepalive = 5

# Recycling a worker costs its boot (about half a second of CPU) and its warm caches (pages
# rendered again). At 2,000 requests a worker restarted every few seconds at full load: the
# constant route fell from 3,919 to 2,336 req/s, p99 about 750 ms. Worker memory is flat once
# the bounded caches are full (bench/soak.py: 93.5 MB from the first 30,000 requests to the
# last of 97,000, mixed pages, 2 workers), so recycling is only a safety net against a leak in
# a library: after about a million requests (11 minutes of a worker at 1,500 req/s, so well
# under 0.1 % of its time at full load, and never at a blog's usual pace), spread by the
# jitter so two workers do not restart together.
max_requests = 1_000_000
max_requests_jitter = 100_000

# Logs to stdout/stderr for systemd's journal or a container runtime. GUNICORN_ACCESSLOG=""
# turns the access log off (the benchmark does, to measure the app, not the logging).
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# preload_app stays off. Preloading builds the app once in the master and forks it into the
# workers; the memory it saves is small (CPython's reference counts touch every page, so
# copy-on-write sharing erodes) and it has two costs: a database connection opened while
# loading would be shared by every forked worker (SQLite and psycopg both forbid using a
# connection across fork), and `kill -HUP` could no longer reload new code. Each worker
# builds its own app and opens its own connections, lazily, on the first request.
preload_app = False

# The proxy on this machine may tell gunicorn the scheme (X-Forwarded-Proto); the app trusts
# X-Forwarded-For only through ProxyFix when BLOG_PROXY_FIX_X_FOR says how many proxies.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicorn 25+ opens a control socket at one fixed path per user ($XDG_RUNTIME_DIR or
# ~/.gunicorn/gunicorn.ctl): a second instance on the machine would take it over. Off unless
# GUNICORN_CONTROL_SOCKET names a path of this instance's own.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
