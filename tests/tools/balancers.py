"""nginx and HAProxy as load balancers in front of several `tether serve`
backends, for the balancer tests (tests/integration, tests/netns) and
bench/balancers.sh: each config is written into a directory the caller owns and
run in the foreground (never as a daemon, never as a system service), with its
logs in that directory.

The knobs are the ones the keep-alive ladder is about:
  client_idle    how long the balancer keeps an idle client connection
                 (nginx keepalive_timeout, HAProxy timeout http-keep-alive);
  upstream_idle  how long it keeps an idle connection to a backend: nginx's
                 `keepalive_timeout` in the upstream block. HAProxy has no such
                 timeout: `pool-purge-delay` closes part of the idle server
                 connections it does not need every period, so the nearest knob
                 is a short purge delay (see docs/deployment.md).
"""

import os


def _nginx_conf(d, listen, backends, upstream_idle, client_idle, keepalive):
    temps = "".join(f"    {p}_temp_path {d}/{p};\n"
                    for p in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    servers = "".join(f"        server {b};\n" for b in backends)
    return (f"worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n"
            "events { worker_connections 4096; }\n"
            "http {\n" + temps +
            f"    access_log {d}/access.log;\n"
            f"    keepalive_timeout {client_idle};\n"
            "    keepalive_requests 1000000;\n"
            "    upstream backends {\n" + servers +
            f"        keepalive {keepalive};\n"
            f"        keepalive_timeout {upstream_idle};\n"
            "        keepalive_requests 1000000;\n"
            "    }\n"
            "    server {\n"
            f"        listen {listen};\n"
            "        location / {\n"
            "            proxy_pass http://backends;\n"
            "            proxy_http_version 1.1;\n"
            "            proxy_set_header Connection \"\";\n"
            "        }\n"
            "    }\n}\n")


def nginx(d, listen, backends, upstream_idle="60s", client_idle="75s", keepalive=32,
          fail_timeout=None):
    """argv of nginx proxying `listen` ("127.0.0.1:8080") to `backends`
    (["198.19.2.2:8081", ...]) with HTTP/1.1 keep-alive to them. nginx's own
    defaults apply otherwise: a POST is never retried on another backend, a GET
    is once; a backend that fails once is skipped for 10 s (max_fails=1), or
    for `fail_timeout` ("2s") if given."""
    if fail_timeout:
        backends = [f"{b} fail_timeout={fail_timeout}" for b in backends]
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(_nginx_conf(d, listen, backends, upstream_idle, client_idle, keepalive))
    return ["nginx", "-p", d + "/", "-e", os.path.join(d, "error.log"), "-c", path,
            "-g", "daemon off;"]


def haproxy(d, listen, backends, purge_delay=None, client_idle="75s", reuse="always",
            retries=False):
    """argv of HAProxy (foreground, -db) proxying `listen` to `backends`
    round-robin with `http-reuse` (default here: always, the most reuse) and,
    if given, `pool-purge-delay` on every server. With `retries`, what its
    documentation advises for backends that restart: a refused or reset
    connection, or an empty response, is retried (3 times, the last on
    another server); never a POST. Its request log goes to stderr."""
    purge = f" pool-purge-delay {purge_delay}" if purge_delay else ""
    retry = ("    retries 3\n    option redispatch 1\n"
             "    retry-on conn-failure empty-response response-timeout\n"
             "    http-request disable-l7-retry if METH_POST\n") if retries else ""
    servers = "".join(f"    server t{i} {b}{purge}\n" for i, b in enumerate(backends))
    conf = ("global\n    log stderr format raw local0 info\n    maxconn 8192\n"
            "defaults\n    mode http\n    log global\n    option httplog\n"
            "    timeout connect 2s\n    timeout client 60s\n    timeout server 30s\n"
            f"    timeout http-keep-alive {client_idle}\n"
            f"frontend fe\n    bind {listen}\n    default_backend be\n"
            f"backend be\n    balance roundrobin\n    http-reuse {reuse}\n" + retry + servers)
    path = os.path.join(d, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(conf)
    return ["haproxy", "-db", "-f", path]
