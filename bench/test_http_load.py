"""bench/http_load.py: wrk's output read, the report's targets (met, or missed by how much) and the
CPU each request cost, as docs/benchmarks.md shows them."""

import os
import subprocess
import time

from bench import http_load

WRK = """Running 15s test @ http://127.0.0.1:4000/info/501/
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.73ms    2.51ms  27.16ms   71.02%
  Latency Distribution
     50%    9.62ms
     75%   10.98ms
     90%   12.64ms
     99%   17.18ms
  12108 requests in 15.00s, 818.54MB read
Requests/sec:    807.20
Transfer/sec:     54.57MB
"""


def run(scenario, cache, rps, p50=10.0, p99=20.0, posts=1_000_000, database="postgres", cpu=None):
    result = {"database": database, "posts": posts, "cache": cache, "scenario": scenario, "label": "",
              "requests_per_s": rps, "p50_ms": p50, "p99_ms": p99, "connections": 8, "duration_s": 15,
              "bytes": 70_000, "errors": 0, "load_average": 1.0, "measured_at": "2026-11-26T07:40:00+00:00"}
    if cpu:
        result["cpu_ms_per_request"] = cpu
    return result


def test_wrk_output_is_read():
    result = http_load.parse_wrk(WRK)
    assert result["requests"] == 12108 and result["requests_per_s"] == 807.2
    assert (result["p50_ms"], result["p99_ms"]) == (9.62, 17.18) and result["errors"] == 0


def test_the_report_says_which_targets_are_missed_and_by_how_much():
    cpu = {"server": 2.0, "database": 0.32, "wrk": 0.1, "machine": 2.46}
    floor_cpu = {"server": 0.3, "database": 0.0, "wrk": 0.08, "machine": 0.39}
    runs = {str(i): r for i, r in enumerate([
        run("floor", "off", 5000.0, cpu=floor_cpu), run("thread50", "off", 800.0, p99=17.2, cpu=cpu),
        run("floor", "on", 5000.0), run("thread50", "on", 2600.0, p99=120.0),
        run("thread50", "off", 700.0, p50=5.0, posts=10_000), run("thread50", "on", 2600.0, posts=10_000),
        run("reply", "off", 90.0, p50=85.0),
    ])}
    text = http_load.report({"runs": runs})
    assert "| thread of 50 posts ≥ 20% of the floor view | PostgreSQL, 1,000,000 posts, cache off | 16.0% | " \
           "**missed** (4.0 points short) |" in text
    assert "| thread of 50 posts ≥ 50% of the floor view | PostgreSQL, 1,000,000 posts, cache on | 52.0% | met |" in text
    assert "cache on | 120.0 ms | **missed** (20.0 ms over) |" in text
    assert "p50 at 1,000,000 ≤ 1.3 × at 10,000 | PostgreSQL, 1,000,000 posts, cache off | 2.00 × | **missed**" in text
    assert "| posting a reply p50 < 100 ms (c = 8) | PostgreSQL, 1,000,000 posts, cache off | 85.0 ms | met |" in text
    assert ("the thread page 2.46 (server 2.00, database server 0.32, wrk 0.10), "
            "the floor 0.39 (server 0.30, wrk 0.08)") in text


def test_shares_pair_each_round_with_its_own_floor():
    runs = {}
    for n, (floor, thread) in enumerate([(3000.0, 600.0), (2000.0, 500.0), (4000.0, 500.0)], start=1):
        for scenario, rps in (("floor", floor), ("thread50", thread)):
            runs[http_load.result_key("postgres", 1_000_000, "off", scenario, "x", n)] = {
                **run(scenario, "off", rps), "label": "x", "round": n}
    runs["other label"] = {**run("thread50", "off", 10.0), "label": "y", "round": 1}
    runs["single run"] = run("thread50", "off", 10.0)
    lines = http_load.shares(runs, "postgres", 1_000_000, "off", "x")
    assert lines == ["thread50: 19.2% of the floor view's throughput on average over 3 rounds "
                     "(12.5%–25.0%; by round: 20.0%, 25.0%, 12.5%)"]
    assert "postgres:1000000:off:thread50:x:round2" in runs
    # Runs in rounds stay out of the report's tables and targets.
    assert "thread of 50 posts ≥ 20%" not in http_load.report({"runs": {k: v for k, v in runs.items()
                                                                       if "round" in v}})


def test_the_cpu_probe_counts_the_server_group_and_the_programs_run():
    sleeper = subprocess.Popen(["python3", "-c", "import time\nt=time.process_time()\n"
                                "while time.process_time()-t<0.3: pass\ntime.sleep(5)"], start_new_session=True)
    try:
        probe = http_load.CpuProbe(sleeper.pid, None)
        time.sleep(1.0)  # it burns 0.3 s of CPU, then sleeps
        first = probe.read()
        assert 0.25 <= first["server"] <= 1.0 and first["database"] == 0
        subprocess.run(["python3", "-c", "import time\nt=time.process_time()\nwhile time.process_time()-t<0.2: pass"])
        second = probe.read()
        assert second["wrk"] - first["wrk"] >= 0.15  # a program this process ran and waited for
        assert second["machine"] >= first["machine"] + 0.15
        assert abs(second["server"] - first["server"]) < 0.05
    finally:
        sleeper.kill()
        sleeper.wait()
    assert os.sysconf("SC_CLK_TCK") == http_load.CpuProbe.TICK
