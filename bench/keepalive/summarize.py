#!/usr/bin/env python3
"""summarize.py RESULTS [ENV] -- tables and tether/nginx ratios for bench/keepalive_vs_nginx.sh.

RESULTS holds one `key=value ...` line per measurement (phase=wrk|ab|mem) or event
(event=start|stop|crash|startfail). Prints Markdown: medians with min-max over the reps, the
tether/nginx ratio of the medians (and the range of the per-rep ratios), and PASS/MISS
against the targets. When the run had a third server "baseline" (--baseline: an older tether
binary), it also prints tether/baseline ratios and the before/after limits (within 3 %).
"""
import shlex
import statistics
import sys

SERVERS = ("tether", "nginx")

# (label, phase, selector, key, scale, decimals)
METRICS = [
    ("c64 req/s (wrk -t1, non-pipelined)", "wrk", {"test": "cpu"}, "rps", 1, 0),
    ("c64 server CPU µs/request", "wrk", {"test": "cpu"}, "cpu_us_per_req", 1, 2),
    ("c64 server CPU % of one core", "wrk", {"test": "cpu"}, "srv_cpu_pct", 1, 0),
    ("c64 p50 latency ms", "wrk", {"test": "cpu"}, "p50_us", 1e-3, 2),
    ("c64 p99 latency ms", "wrk", {"test": "cpu"}, "p99_us", 1e-3, 2),
    ("c64 max latency ms", "wrk", {"test": "cpu"}, "max_us", 1e-3, 1),
    ("pipelined x16 c64 req/s", "wrk", {"test": "pipe"}, "rps", 1, 0),
    ("pipelined x16 server CPU µs/request", "wrk", {"test": "pipe"}, "cpu_us_per_req", 1, 3),
    ("pipelined x16 server CPU % of one core", "wrk", {"test": "pipe"}, "srv_cpu_pct", 1, 0),
    ("idle N conns: user bytes/conn (VmRSS delta / N)", "mem", {}, "bytes_per_conn", 1, 0),
    ("idle N conns: Private_Dirty bytes/conn", "mem", {}, "privdirty_bytes_per_conn", 1, 0),
    ("idle N conns: connections held (client READY)", "mem", {}, "open", 1, 0),
    ("idle N conns: server CPU % while idle", "mem", {}, "idle_cpu_pct", 1, 2),
    ("idle N conns: server on-CPU ms while idle (schedstat)", "mem", {}, "idle_sched_ms", 1, 2),
    ("idle N conns: server wake-ups while idle (ctx switches)", "mem", {}, "idle_wakeups", 1, 0),
    ("idle N conns: closed by server before client closed", "mem", {}, "closed_by_peer", 1, 0),
    ("ab -n 20000 -c 16 (no keep-alive) req/s", "ab", {"mode": "nka"}, "rps", 1, 0),
    ("ab no-KA failed requests", "ab", {"mode": "nka"}, "failed", 1, 0),
    ("ab no-KA TIME_WAIT server side (delta)", "ab", {"mode": "nka"}, "tw_srv", 1, 0),
    ("ab no-KA TIME_WAIT client side (delta)", "ab", {"mode": "nka"}, "tw_cli", 1, 0),
    ("ab -k -n 20000 -c 16 req/s", "ab", {"mode": "ka"}, "rps", 1, 0),
    ("ab -k failed requests", "ab", {"mode": "ka"}, "failed", 1, 0),
    ("ab -k keep-alive requests", "ab", {"mode": "ka"}, "keepalive_reqs", 1, 0),
    ("ab -k TIME_WAIT server side (delta)", "ab", {"mode": "ka"}, "tw_srv", 1, 0),
    ("ab -k TIME_WAIT client side (delta)", "ab", {"mode": "ka"}, "tw_cli", 1, 0),
]


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = {}
            for tok in shlex.split(line):
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    d[k] = v
            rows.append(d)
    return rows


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fticks(r):
    if "foreign_ticks" in r:
        return int(r["foreign_ticks"])
    return int(r["machine_busy_ticks"]) - int(r["srv_ticks"]) - int(r.get("cli_ticks", 0))


def is_disturbed(r):
    """Kept run that other processes still disturbed (> 5% of 2 cores and >= 10 ticks)."""
    if r.get("disturbed") == "1":
        return True
    f = num(r.get("foreign_pct"))
    return f is not None and f > 5 and "machine_busy_ticks" in r and fticks(r) >= 10


def series(rows, phase, sel, key, srv):
    """{rep: value} for one server; disturbed runs are left out."""
    out = {}
    for r in rows:
        if r.get("phase") != phase or r.get("server") != srv:
            continue
        if phase in ("wrk", "ab") and is_disturbed(r):
            continue
        if any(r.get(k) != v for k, v in sel.items()):
            continue
        if phase == "mem" and r.get("ok") != "1":
            continue
        x = num(r.get(key))
        if x is not None:
            out[int(r.get("rep", 0))] = x
    return out


def fmt(x, dec):
    if x is None:
        return "–"
    if dec == 0 and abs(x) >= 10000:
        return f"{x / 1000:.1f}k"
    return f"{x:.{dec}f}"


def stat_cell(vals, scale, dec):
    if not vals:
        return "–", None
    v = [x * scale for x in vals]
    med = statistics.median(v)
    if len(v) == 1:
        return fmt(med, dec), med
    return f"{fmt(med, dec)} [{fmt(min(v), dec)}–{fmt(max(v), dec)}]", med


def ratio_cell(t, n, tm, nm):
    if tm is None or nm is None or nm == 0:
        return "–", None
    r = tm / nm
    per = [t[k] / n[k] for k in t if k in n and n[k] != 0]
    if len(per) > 1:
        return f"{r:.2f} [{min(per):.2f}–{max(per):.2f}]", r
    return f"{r:.2f}", r


def main():
    rows = parse(sys.argv[1])
    env = {}
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    env[k.strip()] = v.strip()
    reps = sorted({int(r["rep"]) for r in rows if "rep" in r})
    print("## tether vs nginx (one interleaved run)\n")
    if env:
        for k in ("command", "date", "host", "nginx", "wrk", "tether", "settings"):
            if k in env:
                print(f"- {k}: `{env[k]}`")
        print()
    print(f"Reps: {len(reps)}. Cells: median [min–max] over reps; ratio = median(tether) / "
          "median(nginx) [range of the per-rep ratios].\n")
    has_base = any(r.get("server") == "baseline" for r in rows)
    extra = " baseline | tether/baseline |" if has_base else ""
    print("| metric | tether | nginx | tether/nginx |" + extra)
    print("|---|---|---|---|" + ("---|---|" if has_base else ""))
    med, base = {}, {}
    for label, phase, sel, key, scale, dec in METRICS:
        t = series(rows, phase, sel, key, "tether")
        n = series(rows, phase, sel, key, "nginx")
        tc, tm = stat_cell(list(t.values()), scale, dec)
        nc, nm = stat_cell(list(n.values()), scale, dec)
        rc, r = ratio_cell(t, n, tm, nm)
        med[label] = (tm, nm, r)
        if tm is None and nm is None:
            continue  # a test left out with TESTS
        cells = f"| {label} | {tc} | {nc} | {rc} |"
        if has_base:
            b = series(rows, phase, sel, key, "baseline")
            bc, bm = stat_cell(list(b.values()), scale, dec)
            brc, br = ratio_cell(t, b, tm, bm)
            base[label] = (tm, bm, br)
            cells += f" {bc} | {brc} |"
        print(cells)

    # per-rep values of the headline metrics (drift between reps shows here)
    print("\nPer rep (tether / nginx = ratio; `x` = left out as disturbed):\n")
    heads = [("c64 CPU µs/req", "wrk", {"test": "cpu"}, "cpu_us_per_req", 2),
             ("c64 req/s", "wrk", {"test": "cpu"}, "rps", 0),
             ("pipe x16 req/s", "wrk", {"test": "pipe"}, "rps", 0),
             ("pipe x16 CPU µs/req", "wrk", {"test": "pipe"}, "cpu_us_per_req", 3),
             ("idle B/conn", "mem", {}, "bytes_per_conn", 0)]
    print("| rep | " + " | ".join(h[0] for h in heads) + " |")
    print("|---|" + "---|" * len(heads))
    for rep in reps:
        cells = []
        for _, phase, sel, key, dec in heads:
            v = {}
            for srv in SERVERS:
                for r in rows:
                    if (r.get("phase") == phase and r.get("server") == srv and int(r.get("rep", 0)) == rep
                            and all(r.get(k) == x for k, x in sel.items())):
                        x = num(r.get(key))
                        v[srv] = ("x" if phase in ("wrk", "ab") and is_disturbed(r) else "") + \
                            (fmt(x, dec) if x is not None else "–")
                        v[srv + "_n"] = x
            t, n = v.get("tether_n"), v.get("nginx_n")
            ratio = f" = {t / n:.2f}" if t is not None and n else ""
            cells.append(f"{v.get('tether', '–')} / {v.get('nginx', '–')}{ratio}")
        print(f"| {rep} | " + " | ".join(cells) + " |")

    # errors reported by the clients
    print()
    errs = []
    for r in rows:
        if r.get("phase") == "wrk":
            e = sum(int(r.get(k, 0) or 0) for k in
                    ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
            nx = int(r.get("non2xx", 0) or 0)
            if e or nx or r.get("failed_run") or r.get("wrk_rc", "0") != "0":
                errs.append(f"wrk {r['test']} {r['server']} rep {r['rep']}: connect={r.get('err_connect')} "
                            f"read={r.get('err_read')} write={r.get('err_write')} "
                            f"timeout={r.get('err_timeout')} non2xx={nx} rc={r.get('wrk_rc')}")
        if r.get("phase") == "ab":
            if (r.get("failed") not in ("0", None) or r.get("non2xx") not in ("0", None)
                    or r.get("ab_rc") != "0" or r.get("complete") != r.get("n")):
                errs.append(f"ab {r['mode']} {r['server']} rep {r['rep']}: complete={r.get('complete')} "
                            f"failed={r.get('failed')} non2xx={r.get('non2xx')} rc={r.get('ab_rc')}")
        if r.get("phase") == "mem" and (r.get("ok") != "1" or
                                        r.get("closed_by_peer") not in ("0",) or
                                        r.get("open") != r.get("N")):
            errs.append(f"idle {r['server']} rep {r['rep']}: N={r.get('N')} open={r.get('open')} "
                        f"estab={r.get('srv_estab')}/{r.get('srv_estab_end')} "
                        f"closed_by_peer={r.get('closed_by_peer')} client='{r.get('client')}'")
        if r.get("event") in ("crash", "startfail") or (
                r.get("event") == "stop" and (r.get("exit") != "0" or r.get("sigkill") != "0")):
            errs.append(" ".join(f"{k}={v}" for k, v in r.items()))
    print("Client errors, crashes, non-zero exits:" + (" none" if not errs else ""))
    for e in errs:
        print(f"- {e}")
    def what(r):
        return f"{r['phase'].split('_')[0]} {r.get('test') or r.get('mode')} {r['server']} rep {r['rep']}"
    kept = [(what(r), float(r["foreign_pct"]), fticks(r)) for r in rows
            if r.get("phase") in ("wrk", "ab") and num(r.get("foreign_pct")) is not None]
    if kept:
        worst = max(kept, key=lambda x: x[1])
        bad = [k for k in kept if k[1] > 5 and k[2] >= 10]
        print(f"\nCPU used by other processes during the kept wrk/ab runs (machine busy − server − "
              f"client, % of 2 cores; runs shorter than 1 s are dominated by tick noise): "
              f"max {worst[1]:.1f}% = {worst[2]} ticks ({worst[0]})")
        if bad:
            print("**Still disturbed (> 5% and ≥ 10 ticks) after the last retry, LEFT OUT of the "
                  "medians above: " + ", ".join(f"{k[0]} {k[1]:.1f}%" for k in bad) + "**")
    disc = [f"{what(r)} ({r.get('foreign_pct')}%)" for r in rows
            if r.get("phase") in ("wrk_discarded", "ab_discarded")]
    print("Runs redone because other processes were busy: " + (", ".join(disc) if disc else "none"))
    idlef = [(f"{r['server']} rep {r['rep']}", float(r["idle_foreign_pct"])) for r in rows
             if r.get("phase") == "mem" and num(r.get("idle_foreign_pct")) is not None]
    if idlef:
        print("Other processes' CPU during the idle windows (% of 2 cores): "
              + ", ".join(f"{k} {v:.1f}%" for k, v in idlef))
    quiet = [r for r in rows if r.get("event") == "quiet"]
    if quiet:
        print("Background load before each rep (3 s sample, % of 2 cores): " + ", ".join(
            f"rep {r['rep']} {r.get('background_busy_pct')}%" + (" NOT QUIET" if r.get("quiet") == "0" else "")
            for r in quiet))
    stops = [r for r in rows if r.get("event") == "stop"]
    if stops:
        print("\nServer exits on SIGTERM: " + ", ".join(
            f"{r['inst']}={r['exit']}" + (" (SIGKILL needed)" if r.get("sigkill") != "0" else "")
            for r in stops))

    # targets
    print("\n### Targets\n")
    print("| target | tether | nginx | ratio | result |")
    print("|---|---|---|---|---|")

    def line(name, label, limit, kind, unit, dec):
        tm, nm, r = med[label]
        if r is None:
            print(f"| {name} | – | – | – | NO DATA |")
            return
        ok = r <= limit if kind == "le" else r >= limit
        need = limit * nm
        if ok:
            miss = ""
        elif kind == "le":
            miss = (f" — target value ≤ {need:.{dec}f}{unit}; tether is {tm / need:.2f}× that "
                    f"({(tm / need - 1) * 100:.0f}% over)")
        else:
            miss = (f" — target value ≥ {need:.{dec}f}{unit}; tether reaches {tm / need * 100:.0f}% "
                    f"of it ({need / tm:.2f}× short)")
        print(f"| {name} | {tm:.{dec}f}{unit} | {nm:.{dec}f}{unit} | {r:.2f} | "
              f"{'PASS' if ok else 'MISS'}{miss} |")

    line("CPU/request (c64) ≤ 0.9× nginx", "c64 server CPU µs/request", 0.9, "le", " µs", 2)
    line("pipelined x16 req/s ≥ 3× nginx", "pipelined x16 c64 req/s", 3.0, "ge", " req/s", 0)
    line("bytes per idle connection ≤ 0.5× nginx", "idle N conns: user bytes/conn (VmRSS delta / N)",
         0.5, "le", " B", 0)
    tm, nm, _ = med["idle N conns: server CPU % while idle"]
    if tm is None:
        print("| ~0 CPU while N connections idle (≤ 1% of a core) | – | – | – | NO DATA |")
    else:
        ok = tm <= 1.0
        print(f"| ~0 CPU while N connections idle (≤ 1% of a core) | {tm:.2f}% | {nm:.2f}% | – | "
              f"{'PASS' if ok else 'MISS'}{'' if ok else f' — {tm:.2f}% of a core'} |")
    if base:
        before_after(base)


def before_after(base):
    """The no-regression limits of a change: tether (after) against baseline (before)."""
    print("\n### Before/after (tether = this tree, baseline = --baseline binary)\n")
    print("| limit | tether | baseline | ratio | result |")
    print("|---|---|---|---|---|")
    for name, label, limit, kind, dec in (
            ("c64 CPU/request within 3 %", "c64 server CPU µs/request", 1.03, "le", 2),
            ("pipelined x16 CPU/request within 3 %", "pipelined x16 server CPU µs/request", 1.03,
             "le", 3),
            ("pipelined x16 req/s within 3 %", "pipelined x16 c64 req/s", 0.97, "ge", 0),
            ("bytes per idle connection not above baseline + 3 %",
             "idle N conns: user bytes/conn (VmRSS delta / N)", 1.03, "le", 0)):
        tm, bm, r = base[label]
        if r is None:
            print(f"| {name} | – | – | – | NO DATA |")
            continue
        ok = r <= limit if kind == "le" else r >= limit
        print(f"| {name} | {tm:.{dec}f} | {bm:.{dec}f} | {r:.3f} | {'PASS' if ok else 'MISS'} |")


if __name__ == "__main__":
    main()
