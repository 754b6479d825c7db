#!/usr/bin/env python3
"""The prober benchmark suite (issue 6). Run it with ./dev bench (or bench/run_all.sh).

Five scenarios, every figure next to a reference measured in the same run, as a ratio:
  throughput  HTTP steps/s (status + one JSON check) against nginx at 64/256/1024 in flight,
              next to wrk on the same URL; CPU-seconds per 1,000 steps; peak RSS
  peer        probes per CPU-second, next to prometheus-blackbox-exporter doing the same probe
  scale       100,000 journeys on a 60 s interval for two minutes: schedule lag p50/p99/max,
              RSS per journey, CPU %
  fidelity    a target that answers after exactly D ms: reported latency - D at 10, 1,000 and
              5,000 runs in flight, next to wrk's at the same concurrency; past saturation,
              runs must come out invalid, not slow or bad
  ci          wall time of `prober run --once` for a three-step journey vs its network time

Everything runs on 127.0.0.1 with servers on free ports and their own temp config; every
child is stopped on exit (normal, error or signal). CPU-seconds come from /proc/PID/stat
(sampled) or the children's rusage (os.wait4); peak RSS from VmHWM / ru_maxrss.
"""
import argparse
import bisect
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")
CHILDREN = []  # every Popen we started, stopped in cleanup()
LOG_DIR = None  # children's stderr goes to files here: a full pipe would block a child's loop


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

def cpu_seconds(pid):
    """utime + stime of pid (and its threads) from /proc/PID/stat; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ
    except (OSError, IndexError):
        return None


def vm_hwm_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def tree_cpu(pid):
    """CPU-seconds of pid and its direct children (nginx: master + workers)."""
    total = 0.0
    for p in [pid] + children_of(pid):
        c = cpu_seconds(p)
        total += c or 0.0
    return total


class Proc:
    """A child process, its rusage once reaped, and a CPU sampler for time windows."""

    def __init__(self, argv, stdout=subprocess.PIPE, **kw):
        self.argv = argv
        self.err_path = os.path.join(LOG_DIR, f"{len(CHILDREN)}-{os.path.basename(argv[0])}.err")
        with open(self.err_path, "wb") as err:
            self.p = subprocess.Popen(argv, stdout=stdout, stderr=err, start_new_session=True, **kw)
        CHILDREN.append(self)
        self.pid = self.p.pid
        self.rusage = None
        self.status = None
        self.samples = []  # (wall time, cpu seconds)
        self.hwm_mib = 0.0  # VmHWM, sampled with the CPU
        self._sampling = False

    def sample_cpu(self, every=0.02):
        self._sampling = True

        def loop():
            while self._sampling and self.status is None:
                c = cpu_seconds(self.pid)
                hwm = vm_hwm_mib(self.pid)
                if c is None or hwm is None:
                    break
                self.samples.append((time.time(), c))
                self.hwm_mib = max(self.hwm_mib, hwm)
                time.sleep(every)

        threading.Thread(target=loop, daemon=True).start()

    def err_text(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def cpu_at(self, t):
        """CPU-seconds used by wall time t, interpolated between samples."""
        s = self.samples
        if not s:
            return None
        i = bisect.bisect_left([x[0] for x in s], t)
        if i <= 0:
            return s[0][1]
        if i >= len(s):
            return s[-1][1]
        (t0, c0), (t1, c1) = s[i - 1], s[i]
        return c0 + (c1 - c0) * (t - t0) / (t1 - t0) if t1 > t0 else c1

    def poll(self):
        if self.status is not None:
            return self.status
        pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        if pid == 0:
            return None
        self.status, self.rusage = os.waitstatus_to_exitcode(status), ru
        self.p.returncode = self.status
        self._sampling = False
        return self.status

    def wait(self, timeout):
        """Waits at most timeout seconds; kills the child past it. Returns the exit status."""
        end = time.time() + timeout
        while self.poll() is None:
            if time.time() > end:
                log(f"{os.path.basename(self.argv[0])} still running after {timeout:.0f}s: killed")
                self.kill()
                break
            time.sleep(0.01)
        return self.status

    def kill(self):
        if self.status is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while self.poll() is None:
                time.sleep(0.01)

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status."""
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.wait(timeout)
        return self.status

    def cpu_rusage(self):
        return self.rusage.ru_utime + self.rusage.ru_stime

    def peak_rss_mib(self):
        """Peak RSS from /proc/PID/status VmHWM, sampled while it ran (needs sample_cpu). Not
        ru_maxrss: that counts the forked Python image before exec."""
        return self.hwm_mib


def cleanup():
    for c in CHILDREN:
        try:
            if c.status is None:
                os.killpg(c.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.time() + 5
    for c in CHILDREN:
        while c.status is None and time.time() < deadline:
            try:
                c.poll()
            except ChildProcessError:
                break
            time.sleep(0.02)
        if c.status is None:
            try:
                os.killpg(c.pid, signal.SIGKILL)
                c.poll()
            except (ProcessLookupError, ChildProcessError, PermissionError):
                pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.argv[0]} exited with {proc.status}: {proc.err_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.argv[0]} did not listen on port {port} within {timeout}s")


def quantile(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def parse_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


# ---------------------------------------------------------------- servers

class Nginx:
    """nginx with a temp prefix and its own config: one worker, a small JSON document."""

    DOC = '{"id":42,"name":"widget","price":9.99,"tags":["a","b"],"stock":12}\n'

    def __init__(self, tmp):
        self.prefix = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(self.prefix, "www"))
        os.makedirs(os.path.join(self.prefix, "logs"))
        with open(os.path.join(self.prefix, "www", "item.json"), "w") as f:
            f.write(self.DOC)
        self.port = free_port()
        p = self.prefix
        conf = f"""
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {p}/nginx.pid;
error_log {p}/logs/error.log warn;
events {{ worker_connections 10000; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path {p}/body; proxy_temp_path {p}/proxy; fastcgi_temp_path {p}/fastcgi;
  uwsgi_temp_path {p}/uwsgi; scgi_temp_path {p}/scgi;
  types {{ application/json json; }}
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    root {p}/www;
  }}
}}
"""
        with open(os.path.join(p, "nginx.conf"), "w") as f:
            f.write(conf)
        self.proc = Proc(["nginx", "-p", p, "-e", f"{p}/logs/error.log", "-c", f"{p}/nginx.conf"])
        wait_port(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}/item.json"

    def cpu(self):
        return tree_cpu(self.proc.pid)


class DelayServer:
    def __init__(self, exe, log_path=None):
        argv = [exe] + (["--log", log_path] if log_path else [])
        self.proc = Proc(argv)
        line = self.proc.p.stdout.readline().decode()
        m = re.match(r"port (\d+)", line)
        if not m:
            raise RuntimeError(f"bench-delayserver did not start: {line!r}")
        self.port = int(m.group(1))
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        """Stops it; returns its own delay excess (us): p50, p99, max, count."""
        self.proc.stop()
        out = self.proc.p.stdout.read().decode()
        m = re.search(r"excess_us p50=([\d.]+) p99=([\d.]+) max=([\d.]+) count=(\d+)", out)
        if not m:
            raise RuntimeError(f"bench-delayserver printed no summary: {out!r}")
        return {"p50": float(m.group(1)), "p99": float(m.group(2)), "max": float(m.group(3)),
                "count": int(m.group(4))}


WRK_LUA = r"""
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) ok = 0 end
%RESPONSE%
done = function(summary, latency, requests)
  local e = summary.errors
  local good = 0
  for _, t in ipairs(threads) do good = good + (t:get("ok") or 0) end
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,' ..
    '"ok":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status, good, latency:percentile(50),
    latency:percentile(99), latency.max))
end
"""


def run_wrk(tmp, url, conns, seconds, threads=2, match=None):
    """wrk -c conns for seconds; returns its summary plus its own CPU-seconds. match: count the
    answers whose body contains this string (as "ok")."""
    script = os.path.join(tmp, f"wrk-{conns}.lua")
    resp = ""
    if match:
        resp = ('response = function(status, headers, body)\n'
                f'  if body and body:find("{match}", 1, true) then ok = ok + 1 end\nend\n')
    with open(script, "w") as f:
        f.write(WRK_LUA.replace("%RESPONSE%", resp))
    threads = min(threads, conns)
    w = Proc(["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s", "--timeout", "10s",
              "-s", script, url])
    w.wait(seconds + 60)
    out = w.p.stdout.read().decode()
    m = re.search(r"WRKJSON (\{.*\})", out)
    if not m:
        raise RuntimeError(f"wrk printed no summary: {out[-1000:]} {w.err_text()[-1000:]}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["cpu"] = w.cpu_rusage()
    return r


# ---------------------------------------------------------------- journeys

def write_journeys(dirname, count, steps_per, url_of, interval="1m", run_timeout="600s",
                   step_timeout="10s"):
    """count journey files j0..j{count-1}, each of steps_per steps: GET url_of(i, k), status 200
    and one JSON check."""
    os.makedirs(dirname, exist_ok=True)
    for i in range(count):
        parts = [f'name = "j{i}"\ncuj = "bench"\ninterval = "{interval}"\ntimeout = "{run_timeout}"\n'
                 f'[defaults]\ntimeout = "{step_timeout}"\n']
        for k in range(steps_per):
            parts.append(f'[[steps]]\nname = "s{k}"\nrequest = {{ method = "GET", url = "{url_of(i, k)}" }}\n'
                         'expect = { status = 200, json = [ { path = "$.id", equals = 42 } ] }\n')
        with open(os.path.join(dirname, f"j{i}.toml"), "w") as f:
            f.write("".join(parts))


def fnv1a(journey, location):
    h = 14695981039346656037
    for b in journey.encode() + b"\0" + location.encode():
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def read_runs(path):
    with open(path) as f:
        return json.load(f)["runs"]


def stopped_line(stderr_text):
    for line in stderr_text.splitlines():
        if '"msg":"stopped"' in line.replace(" ", ""):
            return json.loads(line)
    return None


# ---------------------------------------------------------------- table

class Table:
    def __init__(self):
        self.rows = []

    def add(self, scenario, figure, value, reference, ratio, target, ok):
        result = "info" if ok is None else ("pass" if ok else "MISS")
        row = [scenario, figure, value, reference, ratio, target, result]
        self.rows.append(row)
        print(" | ".join(row), flush=True)

    def markdown(self):
        head = ["scenario", "figure", "prober", "reference (same run)", "ratio", "target", "result"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines) + "\n"


def fmt(x, nd=1):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}f}"


# ---------------------------------------------------------------- scenarios

class Suite:
    def __init__(self, args, tmp):
        self.a = args
        self.tmp = tmp
        self.table = Table()
        self.ours_per_cpu_s = None  # steps per CPU-second at 64 in flight (for peer)
        self.nginx = None
        # The daemon's data (the embedded store) goes to the temp folder, never the work tree.
        self.config = os.path.join(tmp, "prober.toml")
        with open(self.config, "w") as f:
            f.write(f'data_dir = "{os.path.join(tmp, "prober-data")}"\n')
            if args.lag_tolerance:
                f.write(f'[scheduler]\nlag_tolerance = "{args.lag_tolerance}"\n')

    def prober(self, args, config=None, **kw):
        """Starts the prober (in the temp folder); daemon runs get the temp config."""
        if args[0] == "run" and "--once" not in args:
            args = args[:1] + ["--config", config or self.config] + args[1:]
        return Proc([self.a.prober] + args, cwd=self.tmp, **kw)

    def get_nginx(self):
        if self.nginx is None:
            self.nginx = Nginx(self.tmp)
        return self.nginx

    # -- 1. throughput
    def throughput(self):
        """Each level: wrk, then `repeats` times (prober, wrk). A prober run's reference is the
        mean of the wrk runs on either side of it, its ratio the one reading; the figure is the
        median reading, with the lowest and highest beside it. This machine's capacity drifts
        by tens of per cent within minutes (wrk read 28k to 53k req/s in one hour): one pair
        measures the drift as much as the prober, the median of several measures the prober."""
        ng = self.get_nginx()
        for n in self.a.inflight:
            c0 = ng.cpu()
            wrks = [run_wrk(self.tmp, ng.url, n, self.a.wrk_seconds)]
            wrk_ng_cpu = ng.cpu() - c0
            # Size each run to last ~3 s at wrk's rate (~6 s at the 50 % target).
            total = int(min(max(wrks[0]["rps"] * self.a.throughput_seconds, 20000), 300000))
            k = max(1, math.ceil(total / n))
            d = os.path.join(self.tmp, f"throughput-{n}")
            write_journeys(d, n, k, lambda i, s: ng.url)
            out = os.path.join(self.tmp, f"throughput-{n}.json")
            readings = []  # (ratio, steps/s, wrk req/s) per prober run
            steps = cpu = prober_ng_cpu = peak_rss = 0.0
            counts = {"good": 0, "bad": 0, "invalid": 0, "skipped": 0}
            for _ in range(self.a.throughput_repeats):
                c0 = ng.cpu()
                p = self.prober(["run", "--once", "--threads", self.a.threads, "--json", out, d],
                                stdout=subprocess.DEVNULL)
                p.sample_cpu()
                p.wait(self.a.prober_timeout)
                prober_ng_cpu += ng.cpu() - c0
                c0 = ng.cpu()
                wrks.append(run_wrk(self.tmp, ng.url, n, self.a.wrk_seconds))
                wrk_ng_cpu += ng.cpu() - c0
                err = p.err_text()
                if p.status not in (0, 1) or not os.path.exists(out):
                    raise RuntimeError(f"prober run --once failed ({p.status}): {err[-2000:]}")
                runs = read_runs(out)
                os.remove(out)
                t0 = min(parse_ts(r["started_at"]) for r in runs)
                t1 = max(parse_ts(r["started_at"]) + r["duration_ms"] / 1000 for r in runs)
                done = 0
                for r in runs:
                    for s in r["steps"]:
                        counts[s["result"]] += 1
                        # Every step sent and judged counts: a step the saturated prober read
                        # more than lag_tolerance late is invalid (its time is partly ours) but
                        # was done all the same.
                        done += s["result"] != "skipped"
                steps += done
                cpu += p.cpu_at(t1) - p.cpu_at(t0)
                peak_rss = max(peak_rss, p.peak_rss_mib())
                wrk_rps = (wrks[-2]["rps"] + wrks[-1]["rps"]) / 2
                rate = done / (t1 - t0)
                readings.append((rate / wrk_rps, rate, wrk_rps))
            for w in wrks:
                if w["errors"] or w["non2xx"]:
                    log(f"wrk at {n}: {w['errors']} errors, {w['non2xx']} non-2xx")
            readings.sort()
            ratio, rate, wrk_rps = readings[len(readings) // 2]  # the median reading
            wrk_requests = sum(w["requests"] for w in wrks)
            wrk_cpu = sum(w["cpu"] for w in wrks)
            runs_note = "" if len(readings) == 1 else f" in {len(readings)} runs"
            note = "" if counts["bad"] == counts["invalid"] == 0 else \
                f" ({counts['bad']} bad, {counts['invalid']} invalid{runs_note}: read late)"
            spread = "" if len(readings) == 1 else \
                f"; median of {len(readings)}, lowest {readings[0][0]:.3f}, highest {readings[-1][0]:.3f}"
            self.table.add(f"throughput @{n}",
                           f"steps/s (status + JSON check; --threads {self.a.threads})" + note,
                           fmt(rate), f"wrk {fmt(wrk_rps)} req/s (the runs either side"
                           f"{spread})", f"{ratio:.3f}", ">= 0.50",  # 0.497 is no 0.50
                           ratio >= 0.5 and counts["bad"] == 0)
            per_k = cpu / steps * 1000
            wrk_per_k = wrk_cpu / wrk_requests * 1000
            self.table.add(f"throughput @{n}", "CPU-s per 1,000 steps (client)", f"{per_k:.3f}",
                           f"wrk {wrk_per_k:.3f}", f"{per_k / wrk_per_k:.1f}", "-", None)
            self.table.add(f"throughput @{n}", "nginx CPU-s per 1,000 requests",
                           f"{prober_ng_cpu / steps * 1000:.3f}",
                           f"wrk {wrk_ng_cpu / wrk_requests * 1000:.3f}",
                           f"{(prober_ng_cpu / steps) / max(wrk_ng_cpu / wrk_requests, 1e-12):.2f}",
                           "-", None)
            self.table.add(f"throughput @{n}", f"peak RSS MiB ({n} journeys x {k} steps)",
                           fmt(peak_rss), "-", "-", "-", None)
            if n == 64:
                self.ours_per_cpu_s = steps / cpu
            shutil.rmtree(d, ignore_errors=True)

    # -- 2. peer
    def peer(self):
        ng = self.get_nginx()
        if self.ours_per_cpu_s is None:
            self.a.inflight = [64]
            self.throughput()
        exe = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
        if not exe:
            raise RuntimeError("prometheus-blackbox-exporter is not installed (./dev bench installs it)")
        conf = os.path.join(self.tmp, "blackbox.yml")
        with open(conf, "w") as f:
            f.write("modules:\n  http_json:\n    prober: http\n    timeout: 5s\n    http:\n"
                    "      valid_status_codes: [200]\n      preferred_ip_protocol: ip4\n"
                    "      fail_if_body_not_matches_regexp: ['\"id\": *42']\n")
        port = free_port()
        bb = Proc([exe, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}",
                   "--log.level=warn"])
        wait_port(port, bb)
        url = f"http://127.0.0.1:{port}/probe?module=http_json&target={ng.url}"
        run_wrk(self.tmp, url, 4, 1, threads=1)  # warm up
        c0 = cpu_seconds(bb.pid)
        w = run_wrk(self.tmp, url, self.a.peer_conns, self.a.wrk_seconds, threads=1,
                    match="probe_success 1")
        bb_cpu = cpu_seconds(bb.pid) - c0
        bb.stop()
        theirs = w["ok"] / bb_cpu
        ratio = self.ours_per_cpu_s / theirs
        self.table.add("peer", "good probes per CPU-second (@64)", fmt(self.ours_per_cpu_s),
                       f"blackbox_exporter {fmt(theirs)} ({w['ok']}/{w['requests']} ok)",
                       f"{ratio:.1f}", ">= 10", ratio >= 10)

    # -- 3. scale
    def scale(self):
        n, interval_s, dur = self.a.scale_journeys, 60, self.a.scale_seconds
        # Baseline: the same prober with one journey, for RSS.
        base_dir = os.path.join(self.tmp, "scale-1")
        srv = DelayServer(self.a.delayserver)
        write_journeys(base_dir, 1, 1, lambda i, s: f"{srv.base}/delay/5/j{i}", interval="60s",
                       run_timeout="10s")
        p = self.prober(["run", "--no-live", "--log-format", "json", "--duration", "3s",
                  base_dir], stdout=subprocess.DEVNULL)
        p.sample_cpu(0.05)
        p.wait(30)
        base_rss = p.peak_rss_mib()
        srv.stop()

        d = os.path.join(self.tmp, f"scale-{n}")
        log_path = os.path.join(self.tmp, "scale-server.log")
        srv = DelayServer(self.a.delayserver, log_path)
        t = time.time()
        write_journeys(d, n, 1, lambda i, s: f"{srv.base}/delay/5/j{i}", interval="60s",
                       run_timeout="10s")
        log(f"scale: wrote {n} journeys in {time.time() - t:.1f}s")
        p = self.prober(["run", "--no-live", "--log-format", "json", "--duration",
                  f"{dur}s", d], stdout=subprocess.DEVNULL)
        p.sample_cpu(0.1)
        started = {}
        srv_c0 = None
        end = time.time() + dur + 300
        while p.poll() is None and time.time() < end:
            if "t" not in started:
                with open(p.err_path, "rb") as errf:
                    if b'"msg":"started"' in errf.read(1 << 20).replace(b" ", b""):
                        started["t"] = time.time()
                        srv_c0 = cpu_seconds(srv.proc.pid)
            time.sleep(0.05)
        srv_c1 = cpu_seconds(srv.proc.pid)
        if p.status is None:
            p.kill()
        err_lines = p.err_text().splitlines(keepends=True)
        t_end = p.samples[-1][0] if p.samples else time.time()
        srv_ex = srv.stop()
        if "t" not in started:
            raise RuntimeError("scale: the prober never logged 'started': " + "".join(err_lines[-20:]))
        load_s = started["t"] - p.samples[0][0] if p.samples else float("nan")
        window = t_end - started["t"]
        cpu = p.cpu_at(t_end) - p.cpu_at(started["t"])
        stopped = stopped_line("".join(err_lines)) or {}

        # Schedule lag as the target saw it: arrival - slot, slot = k * interval + phase.
        iv = interval_s * 10**9
        lags = []
        with open(log_path) as f:
            for line in f:
                arrival, _, path = line.split(" ", 2)
                name = path.strip().rsplit("/", 1)[-1]
                phase = fnv1a(name, "local") % iv
                a = int(arrival)
                slot = (a - phase) // iv * iv + phase
                lags.append((a - slot) / 1e6)  # ms
        rss = p.peak_rss_mib()
        per_journey_kib = (rss - base_rss) * 1024 / n
        p50, p99, mx = quantile(lags, 0.5), quantile(lags, 0.99), max(lags) if lags else float("nan")
        sc = f"scale {n:,} x 60s"
        self.table.add(sc, f"schedule lag p99 ms (at the target; {len(lags):,} runs)", fmt(p99, 2),
                       f"asio timer p99 {srv_ex['p99'] / 1000:.2f}",
                       f"{p99 / max(srv_ex['p99'] / 1000, 1e-3):.1f}", "< 10 ms", p99 < 10)
        self.table.add(sc, "schedule lag p50 ms", fmt(p50, 2),
                       f"asio timer p50 {srv_ex['p50'] / 1000:.2f}",
                       f"{p50 / max(srv_ex['p50'] / 1000, 1e-3):.1f}", "-", None)
        self.table.add(sc, "schedule lag max ms", f"{mx:.1f}",
                       f"asio timer max {srv_ex['max'] / 1000:.1f}",
                       f"{mx / max(srv_ex['max'] / 1000, 1e-3):.1f}", "-", None)
        self.table.add(sc, "scheduler's own lag p99 ms / late starts / missed / stall max ms",
                       f"{stopped.get('schedule_lag_p99_ms', float('nan')):.2f} / "
                       f"{stopped.get('late_starts', '?')} / {stopped.get('missed_slots', '?')} / "
                       f"{stopped.get('loop_stall_max_ms', float('nan')):.0f}",
                       "-", "-", "-", None)
        self.table.add(sc, "peak RSS MiB (KiB per journey)", f"{fmt(rss)} ({per_journey_kib:.1f})",
                       f"1 journey {fmt(base_rss)}", f"{rss / base_rss:.1f}", "< 1024 MiB",
                       rss < 1024)
        srv_cpu_pct = (srv_c1 - srv_c0) / window * 100 if srv_c0 is not None else float("nan")
        self.table.add(sc, f"CPU % over {window:.0f}s (runs {stopped.get('runs', '?')}, "
                           f"load {load_s:.0f}s)", f"{cpu / window * 100:.1f}",
                       f"target {srv_cpu_pct:.1f}", f"{cpu / window * 100 / max(srv_cpu_pct, 1e-3):.1f}",
                       "-", None)
        shutil.rmtree(d, ignore_errors=True)

    # -- 4. fidelity
    def fidelity(self):
        delay = self.a.delay_ms
        # Each count at the prober's lag_tolerance; 1,000 also at 1 ms: an answer read more than
        # 1 ms after it arrived makes its step invalid, the trade that buys sub-millisecond error.
        passes = [(n, None) for n in self.a.fidelity_inflight]
        if 1000 in self.a.fidelity_inflight and not self.a.lag_tolerance:
            passes.insert(passes.index((1000, None)) + 1, (1000, "1ms"))
        for n, tolerance in passes:
            config = None
            if tolerance:
                config = os.path.join(self.tmp, f"prober-lag-{tolerance}.toml")
                with open(config, "w") as f:
                    f.write(f'data_dir = "{os.path.join(self.tmp, "prober-data")}"\n'
                            f'[scheduler]\nlag_tolerance = "{tolerance}"\n')
            srv = DelayServer(self.a.delayserver)
            url = f"{srv.base}/delay/{delay}"
            wrk = run_wrk(self.tmp, url, n, self.a.wrk_seconds)
            srv.stop()
            wrk_p50 = wrk["p50_us"] / 1000 - delay
            wrk_p99 = wrk["p99_us"] / 1000 - delay

            # 2n pairs on a 1 s interval, each in flight for D of every second: n in flight
            # when D = 500 ms.
            pairs = max(1, round(n * 1000 / delay))
            srv_log = os.path.join(self.tmp, f"fidelity-{n}-server.log")
            srv = DelayServer(self.a.delayserver, srv_log)
            d = os.path.join(self.tmp, f"fidelity-{n}")
            write_journeys(d, pairs, 1, lambda i, s: f"{srv.base}/delay/{delay}/j{i}",
                           interval="1s", run_timeout="5s", step_timeout="5s")
            out = os.path.join(self.tmp, f"fidelity-{n}.json")
            p = self.prober(["run", "--no-live", "--log-format", "json", "--interval", "1s",
                             "--threads", self.a.fidelity_threads,
                             "--duration", f"{self.a.fidelity_seconds}s", "--json", out, d],
                            config=config, stdout=subprocess.DEVNULL)
            p.wait(self.a.fidelity_seconds + 120)
            err = p.err_text()
            ex = srv.stop()
            if p.status != 0 or not os.path.exists(out):
                raise RuntimeError(f"fidelity: prober failed ({p.status}): {err[-2000:]}")
            stopped = stopped_line(err) or {}
            runs = read_runs(out)

            # The target's own lateness, request by request: each pair's path is unique and
            # its requests come 1 s apart, so a run's request is the arrival nearest its start.
            arrivals = {}
            with open(srv_log) as f:
                for line in f:
                    a_ns, ex_ns, path = line.split(" ", 2)
                    arrivals.setdefault(path.strip(), []).append((int(a_ns) / 1e9, int(ex_ns) / 1e6))

            def target_excess_ms(url, started):
                xs = arrivals.get("/" + url.split("/", 3)[3], [])
                best = min(xs, key=lambda x: abs(x[0] - started), default=None)
                return best[1] if best and abs(best[0] - started) < 0.5 else None

            raw, own, counts, reasons = [], [], {"good": 0, "bad": 0, "invalid": 0}, {}
            busy, warm = 0.0, 0
            t0 = min(parse_ts(r["started_at"]) for r in runs)
            t1 = max(parse_ts(r["started_at"]) + r["duration_ms"] / 1000 for r in runs)
            for r in runs:
                counts[r["result"]] = counts.get(r["result"], 0) + 1
                busy += r["duration_ms"] / 1000
                if r["result"] != "good":
                    reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
                started = parse_ts(r["started_at"])
                if started < t0 + self.a.fidelity_warmup:
                    warm += 1  # every pair opens its connection in the first seconds
                    continue
                for st in r["steps"]:
                    if st["result"] in ("good", "bad") and st.get("latency_ms"):
                        e = st["latency_ms"]["total"] - delay
                        raw.append(e)
                        tx = target_excess_ms(st["url"], started)
                        if tx is not None:
                            own.append(e - tx)
            in_flight = busy / (t1 - t0) if t1 > t0 else 0
            p50, p99 = quantile(raw, 0.5), quantile(raw, 0.99)
            o50, o99 = quantile(own, 0.5), quantile(own, 0.99)
            fl = f"fidelity @{n} (D={delay}ms" + (f", lag_tolerance {tolerance})" if tolerance else ")")
            why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
            self.table.add(fl, f"reported - D, p99 ms (valid runs after {self.a.fidelity_warmup}s "
                               f"warm-up; mean in flight {in_flight:.0f})",
                           fmt(p99, 2), f"wrk {wrk_p99:.2f}", f"{p99 / max(wrk_p99, 1e-3):.1f}",
                           "-", None)
            self.table.add(fl, "reported - D, p50 ms", fmt(p50, 2), f"wrk {wrk_p50:.2f}",
                           f"{p50 / max(wrk_p50, 1e-3):.1f}", "-", None)
            self.table.add(fl, f"prober's own error p99 ms = reported - D - target's lateness "
                               f"({len(own):,} steps)", fmt(o99, 2),
                           f"target's lateness p99 {ex['p99'] / 1000:.2f}", "-",
                           "< 1 ms" if n <= 1000 else "-", o99 < 1 if n <= 1000 else None)
            self.table.add(fl, "prober's own error p50 ms", fmt(o50, 2),
                           f"target's lateness p50 {ex['p50'] / 1000:.2f}", "-", "-", None)
            self.table.add(fl, "runs good / bad / invalid" + (f" ({why})" if why else ""),
                           f"{counts['good']} / {counts['bad']} / {counts['invalid']}", "-", "-",
                           "bad = 0 (saturation => invalid)", counts["bad"] == 0)
            if n > 1000:
                self.table.add(fl, "scheduler: late starts / lag p99 ms / stall max ms",
                               f"{stopped.get('late_starts', '?')} / "
                               f"{stopped.get('schedule_lag_p99_ms', float('nan')):.1f} / "
                               f"{stopped.get('loop_stall_max_ms', float('nan')):.0f}",
                               "-", "-", "-", None)
            shutil.rmtree(d, ignore_errors=True)
            os.remove(out)
            os.remove(srv_log)

    # -- 5. CI mode
    def ci(self):
        srv = DelayServer(self.a.delayserver)
        d = os.path.join(self.tmp, "ci")
        url_of = lambda i, s: f"{srv.base}/delay/{self.a.ci_delay_ms}/step{s}"
        write_journeys(d, 1, 3, url_of, run_timeout="10s")
        out = os.path.join(self.tmp, "ci.json")
        ours, ref = [], []  # (wall ms, network ms)
        for _ in range(self.a.ci_repeats):
            t = time.perf_counter()
            p = self.prober(["run", "--once", "--json", out, os.path.join(d, "j0.toml")],
                     stdout=subprocess.DEVNULL)
            p.wait(60)
            wall = (time.perf_counter() - t) * 1000
            if p.status != 0:
                raise RuntimeError(f"ci: prober run --once exited {p.status}: {p.err_text()[-2000:]}")
            run = read_runs(out)[0]
            ours.append((wall, sum(s["latency_ms"]["total"] for s in run["steps"])))
            # The reference: curl fetching the same three URLs in one process (one connection),
            # the cheapest a CI step could be with a stock tool.
            argv = ["curl", "-s", "-w", "%{time_total}\\n"]
            for k in range(3):
                argv += ["-o", "/dev/null", url_of(0, k)]
            t = time.perf_counter()
            c = Proc(argv)
            c.wait(60)
            wall = (time.perf_counter() - t) * 1000
            times = [float(x) * 1000 for x in c.p.stdout.read().decode().split()]
            if c.status != 0 or len(times) != 3:
                raise RuntimeError(f"ci: curl failed ({c.status}): {times}")
            ref.append((wall, sum(times)))
        srv.stop()

        def median_overhead(xs):
            return sorted(xs, key=lambda x: x[0] - x[1])[len(xs) // 2]

        w, net = median_overhead(ours)
        cw, cnet = median_overhead(ref)
        row = "ci --once (3 steps)"
        self.table.add(row, f"wall ms (median of {self.a.ci_repeats})", f"{w:.1f}",
                       f"network {net:.1f}", f"{w / net:.2f}", "-", None)
        self.table.add(row, "overhead ms = wall - network", f"{w - net:.1f}",
                       f"curl, same 3 GETs: {cw - cnet:.1f}", f"{(w - net) / max(cw - cnet, 1e-3):.2f}",
                       "< 50 ms", w - net < 50)


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prober", default=os.environ.get("PROBER", "build-bench/prober/prober"))
    ap.add_argument("--delayserver",
                    default=os.environ.get("DELAYSERVER", "build-bench/bench/bench-delayserver"))
    ap.add_argument("--only", action="append", choices=["throughput", "peer", "scale", "fidelity", "ci"])
    ap.add_argument("--out", default=os.environ.get("BENCH_OUT", "build-bench/bench-results.md"),
                    help="where the markdown table goes")
    ap.add_argument("--inflight", type=int, nargs="+", default=[64, 256, 1024])
    ap.add_argument("--threads", default="auto",
                    help="the prober's event loops in the throughput scenario (wrk uses 2 threads)")
    ap.add_argument("--lag-tolerance", default="",
                    help="[scheduler] lag_tolerance of the daemon runs (default: the prober's, 5ms)")
    ap.add_argument("--fidelity-threads", default="1",
                    help="the prober's event loops in the fidelity scenario")
    ap.add_argument("--wrk-seconds", type=int, default=5)
    ap.add_argument("--throughput-seconds", type=float, default=3.0,
                    help="size each prober run to last this long at wrk's rate")
    ap.add_argument("--throughput-repeats", type=int, default=3,
                    help="prober runs per level, each between two wrk runs; the median counts")
    ap.add_argument("--prober-timeout", type=int, default=120)
    ap.add_argument("--peer-conns", type=int, default=16)
    ap.add_argument("--scale-journeys", type=int, default=100000)
    ap.add_argument("--scale-seconds", type=int, default=120)
    ap.add_argument("--delay-ms", type=int, default=500)
    ap.add_argument("--fidelity-inflight", type=int, nargs="+", default=[10, 1000, 5000])
    ap.add_argument("--fidelity-seconds", type=int, default=12)
    ap.add_argument("--fidelity-warmup", type=float, default=2.0,
                    help="leave out runs started in the first seconds (connections opening)")
    ap.add_argument("--ci-delay-ms", type=int, default=20)
    ap.add_argument("--ci-repeats", type=int, default=5)
    a = ap.parse_args()
    if a.throughput_repeats < 1 or a.throughput_repeats % 2 == 0:
        ap.error("--throughput-repeats must be odd: the figure is the middle reading")
    a.prober = os.path.abspath(a.prober)
    a.delayserver = os.path.abspath(a.delayserver)
    for exe in (a.prober, a.delayserver):
        if not os.access(exe, os.X_OK):
            sys.exit(f"bench: {exe} is missing: build build-bench first (./dev bench does)")
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is not installed (./dev bench installs it)")
    only = a.only or ["throughput", "peer", "scale", "fidelity", "ci"]

    def on_signal(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")

    signal.signal(signal.SIGTERM, on_signal)
    # tmpfs when there is one: scale writes (and deletes) 100,000 journey files.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="prober-bench-", dir=shm)
    os.chmod(tmp, 0o755)  # nginx started as root serves files as its unprivileged worker user
    global LOG_DIR
    LOG_DIR = os.path.join(tmp, "logs")
    os.mkdir(LOG_DIR)
    started = time.time()
    rc = 0
    suite = Suite(a, tmp)
    print("scenario | figure | prober | reference | ratio | target | result", flush=True)
    try:
        for name in ["throughput", "peer", "scale", "fidelity", "ci"]:
            if name in only:
                t = time.time()
                getattr(suite, name)()
                log(f"{name} took {time.time() - t:.0f}s")
    except KeyboardInterrupt as e:
        log(f"interrupted ({e})")
        rc = 130
    except Exception:  # a scenario broke: keep the rows measured so far, fail the suite
        import traceback
        traceback.print_exc()
        rc = 2
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    md = suite.table.markdown()
    took = time.time() - started
    md += (f"\nMachine: {machine()}. Suite took {took / 60:.1f} min "
           f"({datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M')} UTC).\n")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(md)
    print("\n" + md)
    log(f"table written to {a.out}")
    if rc == 0 and any(r[-1] == "MISS" for r in suite.table.rows):
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
