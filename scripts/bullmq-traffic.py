#!/usr/bin/env python3
"""BullMQ queue traffic through Sentinel with the real client (PyPI bullmq, the maintainers'
Python port: the same Lua scripts as the Node library), for the sandbox's failover drill.

Run it with the project's virtualenv (scripts/install-deps.sh makes .tools/venv) from a network
namespace that reaches the Sentinels: for the sandbox's Sentinel topology that is the sandbox's
own pod network namespace (`nsenter --net=/run/netns/rrb-... -- .tools/venv/bin/python
scripts/bullmq-traffic.py --sentinel 10.244.0.2:26379 ...`), as a client pod on that network.

A producer adds jobs 1..N (job id `<prefix>-<n>`, the sequence in the data too) at a fixed rate
through `Queue.add`; a failed add is retried with the same job id (an add BullMQ already holds
returns the existing job, so a retry never makes a second one). A Worker processes them and
records every job it runs, repeats included. Both talk to the master Sentinel names
(redis-py's `redis.asyncio.sentinel.Sentinel(...).master_for(SET)`, passed to BullMQ as its
connection): after a failover their next connection goes to the new master.

`--redis HOST:PORT` connects to one Redis directly instead (a single-pod sandbox, from the pod's
own network namespace: 127.0.0.1:6379). `--shape completed=N,failed=N,...` writes no traffic: it
leaves the queue in that shape through the library only (a Worker runs jobs to completed or
failed, then delayed, prioritized and waiting jobs are added) and writes the library's
getJobCounts to summary.json, for checking the tool's queue-depth figures against it.
`--counts Q1,Q2` only reads the library's getJobCounts of existing queues (the sandbox's seeded
ones, written by the same client's scripts/bullmq-app.py, read back by the library).

Bounded: at most --jobs jobs, --max-seconds in all, then it stops by itself. Files in --out:
  added.log      "<job id> <ack ms>"        each add the client saw acknowledged
  processed.log  "<job id> <ms>"            each run of the processor (a repeat is a duplicate)
  errors.log     "<ms> <add|worker> <error>"
  summary.json   counts, the longest time without an acknowledged add, each acked job's state
                 in Redis at the end (through Sentinel), the library's own getJobCounts; `lost`:
                 acknowledged, never run, gone from Redis; `vanished`: run, then gone from Redis.
"""
import argparse
import asyncio
import json
import os
import sys
import time

from bullmq import Queue, Worker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bullmq_common  # noqa: E402


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sentinel", action="append", default=[], metavar="HOST:PORT",
                   help="a Sentinel to ask for the master (repeat for each)")
    p.add_argument("--redis", metavar="HOST:PORT",
                   help="connect to this Redis directly instead (password from $REDIS_PASSWORD, if set)")
    p.add_argument("--shape", metavar="completed=N,failed=N,delayed=N,prioritized=N,waiting=N",
                   help="instead of traffic: leave the queue in this shape (jobs run by a Worker to "
                        "completed or failed, then delayed, prioritized and waiting jobs added) and "
                        "write the library's getJobCounts to summary.json")
    p.add_argument("--counts", metavar="QUEUE[,QUEUE...]",
                   help="instead of traffic: write only the library's getJobCounts of these queues "
                        "(read-only) to summary.json")
    p.add_argument("--master-set", default="mymaster")
    p.add_argument("--queue", default="drill")
    p.add_argument("--job-prefix", default="drill", help="job ids are <prefix>-<n>")
    p.add_argument("--jobs", type=int, default=300, help="jobs to add (at most 100000)")
    p.add_argument("--rate", type=float, default=20.0, help="adds per second")
    p.add_argument("--max-seconds", type=float, default=90.0, help="the whole run, at most 600")
    p.add_argument("--drain-seconds", type=float, default=30.0,
                   help="after the last add, how long the worker may take to process the rest")
    p.add_argument("--no-worker", action="store_true", help="add only (the jobs stay waiting)")
    p.add_argument("--out", required=True, help="folder for the logs and summary.json")
    a = p.parse_args()
    a.jobs = max(0, min(a.jobs, 100_000))
    a.max_seconds = max(1.0, min(a.max_seconds, 600.0))
    a.rate = max(0.1, a.rate)
    if bool(a.sentinel) == bool(a.redis):
        p.error("give --sentinel (one or more) or --redis")
    for s in a.sentinel + ([a.redis] if a.redis else []):
        bullmq_common.check_address(p, s)
    if a.shape:
        try:
            a.shape = {k: max(0, min(int(v), 100_000)) for k, v in (f.split("=", 1) for f in a.shape.split(","))}
        except ValueError:
            p.error(f"--shape {a.shape}: expected completed=N,failed=N,delayed=N,prioritized=N,waiting=N")
        unknown = set(a.shape) - {"completed", "failed", "delayed", "prioritized", "waiting"}
        if unknown:
            p.error(f"--shape: unknown {sorted(unknown)}")
    return a


def connector(a):
    """A function returning a new client for BullMQ: the master Sentinel names, or --redis."""
    return bullmq_common.connector(a.redis, a.sentinel, a.master_set)


async def shape(a, connect, deadline):
    """Leaves the queue as --shape says, through the library only; returns its getJobCounts."""
    sh = a.shape
    queue = Queue(a.queue, {"connection": connect()})
    n = 0

    def jobs(count, **opts):
        nonlocal n
        out = []
        for _ in range(count):
            n += 1
            out.append({"name": "shape", "data": {"seq": n},
                        "opts": {"jobId": f"{a.job_prefix}-{n}", "attempts": 1, "removeOnComplete": False, "removeOnFail": False, **opts}})
        return out

    run = sh.get("completed", 0) + sh.get("failed", 0)
    fail_upto = sh.get("failed", 0)

    async def process(job, token):
        if job.data["seq"] <= fail_upto:
            raise RuntimeError("shape: this job fails")
        return {"ok": True}

    await queue.addBulk(jobs(run))
    if run:
        worker = Worker(a.queue, process, {"connection": connect(), "concurrency": 8, "drainDelay": 1, "autorun": False})
        task = asyncio.ensure_future(worker.run())
        while time.monotonic() < deadline:
            c = await queue.getJobCounts("completed", "failed")
            if c["completed"] + c["failed"] >= run:
                break
            await asyncio.sleep(0.1)
        await asyncio.wait_for(worker.close(), 10)
        task.cancel()
    await queue.addBulk(jobs(sh.get("delayed", 0), delay=3_600_000))
    await queue.addBulk(jobs(sh.get("prioritized", 0), priority=3))
    await queue.addBulk(jobs(sh.get("waiting", 0)))
    counts = await queue.getJobCounts("wait", "active", "completed", "failed", "delayed", "prioritized", "waiting-children", "paused")
    await queue.close()
    return counts


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def write(self, *fields):
        self.f.write(" ".join(str(x) for x in fields) + "\n")

    def close(self):
        self.f.close()


async def main():
    a = parse_args()
    os.makedirs(a.out, exist_ok=True)
    started = now_ms()
    deadline = time.monotonic() + a.max_seconds
    connect = connector(a)
    if a.counts:
        result = {}
        for name in a.counts.split(","):
            q = Queue(name, {"connection": connect()})
            result[name] = await q.getJobCounts("wait", "active", "completed", "failed", "delayed", "prioritized", "waiting-children", "paused")
            await q.close()
        with open(os.path.join(a.out, "summary.json"), "w") as f:
            json.dump({"queues": result}, f, indent=1)
        print(json.dumps(result))
        return 0
    if a.shape:
        counts = await shape(a, connect, deadline)
        with open(os.path.join(a.out, "summary.json"), "w") as f:
            json.dump({"queue": a.queue, "shape": a.shape, "job_counts": counts}, f, indent=1)
        print(json.dumps({"queue": a.queue, "job_counts": counts}))
        return 0
    added_log, processed_log, errors_log = (Log(os.path.join(a.out, n)) for n in ("added.log", "processed.log", "errors.log"))
    added, processed = {}, {}
    add_errors = worker_errors = 0

    async def process(job, token):
        processed[job.id] = processed.get(job.id, 0) + 1
        processed_log.write(job.id, now_ms())
        return {"seq": job.data.get("seq")}

    worker = None
    if not a.no_worker:
        # Short lock and stall check so a job whose completion a failover lost runs again within
        # the drill (BullMQ's at-least-once), and a short retry delay after a connection error.
        worker = Worker(a.queue, process, {
            "connection": connect(), "concurrency": 4,
            "lockDuration": 5000, "stalledInterval": 5000, "maxStalledCount": 3,
            "runRetryDelay": 200, "drainDelay": 1, "autorun": False})

        def on_error(err, *rest):
            nonlocal worker_errors
            worker_errors += 1
            errors_log.write(now_ms(), "worker", f"{type(err).__name__}: {err}".replace("\n", " ")[:300])
        worker.on("error", on_error)
        worker_task = asyncio.ensure_future(worker.run())

    queue = Queue(a.queue, {"connection": connect()})
    interval = 1.0 / a.rate
    last_ack, longest_gap, gap_from = None, 0, None
    for n in range(1, a.jobs + 1):
        if time.monotonic() > deadline:
            break
        job_id = f"{a.job_prefix}-{n}"
        t0 = time.monotonic()
        while time.monotonic() <= deadline:
            try:
                await queue.add("drill", {"seq": n}, {"jobId": job_id, "removeOnComplete": False, "removeOnFail": False})
                ack = now_ms()
                added[job_id] = ack
                added_log.write(job_id, ack)
                if last_ack is not None and ack - last_ack > longest_gap:
                    longest_gap, gap_from = ack - last_ack, last_ack
                last_ack = ack
                break
            except Exception as err:  # connection refused, READONLY, NOREPLICAS...: retry the same id
                add_errors += 1
                errors_log.write(now_ms(), "add", f"{job_id} {type(err).__name__}: {err}".replace("\n", " ")[:300])
                await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - t0)))

    # Let the worker finish what was added, then stop it.
    if worker is not None:
        drain_until = min(deadline, time.monotonic() + a.drain_seconds)
        while time.monotonic() < drain_until and not all(j in processed for j in added):
            await asyncio.sleep(0.2)
        try:
            await asyncio.wait_for(worker.close(), 10)
        except Exception as err:
            errors_log.write(now_ms(), "worker", f"close: {err!r}"[:300])
        worker_task.cancel()

    # Each acked job's state in Redis now, through Sentinel (the master it names), and the
    # library's own counts.
    states, counts, final_error = {}, {}, None
    for attempt in range(20):
        try:
            r = connect()
            p = f"bull:{a.queue}:"
            completed = set(await r.zrange(p + "completed", 0, -1))
            failed = set(await r.zrange(p + "failed", 0, -1))
            waiting = set(await r.lrange(p + "wait", 0, -1))
            active = set(await r.lrange(p + "active", 0, -1))
            for j in added:
                if j in completed: states[j] = "completed"
                elif j in failed: states[j] = "failed"
                elif j in waiting: states[j] = "wait"
                elif j in active: states[j] = "active"
                elif await r.exists(p + j): states[j] = "other"
                else: states[j] = "missing"
            counts = await queue.getJobCounts("completed", "failed", "wait", "active", "delayed")
            await r.aclose()
            final_error = None
            break
        except Exception as err:
            final_error = repr(err)
            await asyncio.sleep(0.5)
    await queue.close()

    def by_seq(ids):
        return sorted(ids, key=lambda j: int(j.rsplit("-", 1)[1]))
    # lost: acknowledged, never run, gone from Redis. vanished: run, then its record gone (the
    # work was done, the queue forgot it: a completion written to a master that lost it).
    lost = by_seq(j for j in added if j not in processed and states.get(j) == "missing")
    vanished = by_seq(j for j in added if j in processed and states.get(j) == "missing")
    summary = {
        "queue": a.queue, "started_ms": started, "finished_ms": now_ms(),
        "jobs_requested": a.jobs, "added": len(added), "add_errors": add_errors, "worker_errors": worker_errors,
        "processed_unique": len(processed), "processed_runs": sum(processed.values()),
        "duplicated": by_seq(j for j, c in processed.items() if c > 1),
        "lost": lost, "vanished": vanished,
        "unprocessed": by_seq(j for j in added if j not in processed),
        "longest_ack_gap_ms": longest_gap, "longest_ack_gap_from_ms": gap_from,
        "states": {s: sum(1 for v in states.values() if v == s) for s in sorted(set(states.values()))},
        "job_counts": counts, "final_read_error": final_error,
    }
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    for log in (added_log, processed_log, errors_log):
        log.close()
    print(json.dumps({k: v for k, v in summary.items() if k not in ("unprocessed",)}))
    return 0 if final_error is None else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
