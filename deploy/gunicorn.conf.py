"""gunicorn's configuration for hostel: `gunicorn -c deploy/gunicorn.conf.py hostel.wsgi`.

Every number comes from the environment (the systemd unit's EnvironmentFile), with defaults
measured on a 2-core machine (README, "Production").
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
# Sync workers, one request each: a face or voice embedding holds a core for 30-130 ms.
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * (os.cpu_count() or 1) + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A 10 MB photo from a phone on a slow link must finish uploading; nginx buffers it first.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then: the face and voice models' native memory never shrinks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm")
# nginx on the same host (or the load balancer's addresses) may set X-Forwarded-*.
# Recent gunicorn (27 here) opens a control socket under $HOME by default; the unit's home is
# read-only and nothing here uses it. GUNICORN_CONTROL_SOCKET=/run/hostel/ctl turns it on.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# Plain text, not hand-built JSON (a path could break it); the request id matches the app's
# log records and nginx's. The query string is left out: it may hold a resident's name.
access_log_format = '%(t)s %({x-request-id}o)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

errorlog = "-"
limit_request_line = 8190
limit_request_fields = 100
