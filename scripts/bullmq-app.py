#!/usr/bin/env python3
"""The sandbox's application: its BullMQ queues, written and worked by the real BullMQ client
(PyPI bullmq, the maintainers' Python port: the same Lua scripts as the Node library), so every
queue-depth figure the tool shows is checked against the library that writes it.

`redis-runbook-sandbox` runs this with the project's virtualenv (.tools/venv, made by
scripts/install-deps.sh), in the network namespace that reaches Redis: the redis pod's own
(127.0.0.1:6379) for the single topology, the pod network's for the Sentinel topology (through
the Sentinels, `master_for`). The password, when Redis has one, is $REDIS_PASSWORD.

  seed --queues Q1,Q2 --jobs N [--large]
      Each queue in the shape of a queue that has been running for a while: about 85 % of N
      jobs run by a Worker to completed and 5 % to failed (at most 1,000 and 5,000 when --large,
      as removeOnComplete/removeOnFail keep), then delayed (an hour), prioritized and waiting
      jobs, and one flow whose parent waits for its child. Prints the library's getJobCounts.
  producer --queues Q1,Q2 [--interval S]
      Forever: every S seconds adds 1 or 2 jobs to each queue (attempts 3, exponential backoff,
      removeOnComplete 1000, removeOnFail 5000). A refused add (Redis down, OOM) is retried.
  worker --queues Q1,Q2
      Forever: a Worker per queue (concurrency 5, connection named by BullMQ, worker name
      `sandbox`); each job takes 0.3-2 s; one job in ten fails (`connect ETIMEDOUT`), is retried
      with backoff and ends in failed. SIGTERM closes it gracefully (Worker.close(): the active
      jobs finish). Hanging it (SIGSTOP) leaves its active jobs' locks to run out: stalled, as
      a hung Node process leaves them.
  pause --queues Q1
      Queue.pause(), as the application's admin would.
  counts --queues Q1,Q2
      Only reads the library's getJobCounts (JSON on stdout).
"""
import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time

from bullmq import FlowProducer, Queue, UnrecoverableError, Worker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bullmq_common  # noqa: E402

STATES = ("wait", "active", "completed", "failed", "delayed", "prioritized", "waiting-children", "paused")
JOB_OPTS = {"attempts": 3, "backoff": {"type": "exponential", "delay": 1000},
            "removeOnComplete": 1000, "removeOnFail": 5000}


def log(*words):
    print(time.strftime("%H:%M:%S"), *words, file=sys.stderr, flush=True)


def job_body(queue, n):
    """What the application's producers put in a job of this queue (name, data)."""
    if queue == "email":
        return "send-email", {"to": f"user{n}@example.com", "template": "order-confirmation", "n": n}
    if queue == "reports":
        return "render-report", {"account": n % 500, "period": "2026-11", "n": n}
    if queue == "webhooks":
        return "deliver-webhook", {"url": f"https://hooks.example.com/acct/{n % 300}", "event": "order.paid", "n": n}
    return f"{queue}-job", {"n": n}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["seed", "producer", "worker", "pause", "counts"])
    p.add_argument("--queues", required=True, help="comma-separated queue names")
    p.add_argument("--redis", metavar="HOST:PORT", help="one Redis (the single topology)")
    p.add_argument("--sentinel", action="append", default=[], metavar="HOST:PORT",
                   help="a Sentinel to ask for the master (repeat for each)")
    p.add_argument("--master-set", default="mymaster")
    p.add_argument("--jobs", type=int, default=300, help="seed: jobs per queue (at most 1,000,000)")
    p.add_argument("--large", action="store_true", help="seed: a backlog (completed and failed capped as the job options keep)")
    p.add_argument("--interval", type=float, default=1.0, help="producer: seconds between rounds")
    p.add_argument("--sandbox", metavar="DIR", help="the sandbox this process belongs to (named so that `sandbox down` finds it)")
    a = p.parse_args()
    a.queues = [q for q in a.queues.split(",") if q]
    if not a.queues:
        p.error("--queues: no queue named")
    if bool(a.sentinel) == bool(a.redis):
        p.error("give --redis or --sentinel (one or more)")
    for s in a.sentinel + ([a.redis] if a.redis else []):
        bullmq_common.check_address(p, s)
    a.jobs = max(0, min(a.jobs, 1_000_000))
    a.interval = max(0.1, a.interval)
    return a


async def counts(connect, queues):
    out = {}
    for name in queues:
        q = Queue(name, {"connection": connect()})
        out[name] = await q.getJobCounts(*STATES)
        await q.close()
    return out


async def seed(a, connect):
    n = a.jobs
    completed, failed = n * 85 // 100, n * 5 // 100
    delayed, prioritized = max(3, n // 60), max(2, n // 100)
    waiting = max(10, n // 20)
    if a.large:
        completed, failed = min(completed, 1000), min(failed, 5000)
        waiting = max(10, n - completed - failed - delayed - prioritized - 1)
    for name in a.queues:
        queue = Queue(name, {"connection": connect()})
        seq = 0

        def jobs(count, fail=False, **opts):
            nonlocal seq
            out = []
            for _ in range(count):
                seq += 1
                jname, data = job_body(name, seq)
                if fail:
                    data = {**data, "fail": True}
                out.append({"name": jname, "data": data, "opts": {**JOB_OPTS, **opts}})
            return out

        async def process(job, token):
            if job.data.get("fail"):
                raise UnrecoverableError("connect ETIMEDOUT 10.0.3.7:443")
            return {"ok": True}

        run = completed + failed
        # The jobs that end failed first, then the ones that complete (the seed's Worker takes
        # them in order), so both sets are whole even when removeOnComplete trims.
        batch = 2000
        for start in range(0, failed, batch):
            await queue.addBulk(jobs(min(batch, failed - start), fail=True))
        for start in range(0, completed, batch):
            await queue.addBulk(jobs(min(batch, completed - start)))
        if run:
            worker = Worker(name, process, {"connection": connect(), "concurrency": 50, "drainDelay": 1,
                                            "autorun": False, "name": "seed"})
            task = asyncio.ensure_future(worker.run())
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                c = await queue.getJobCounts("wait", "active", "prioritized")
                if c["wait"] + c["active"] + c["prioritized"] == 0:
                    break
                await asyncio.sleep(0.1)
            await asyncio.wait_for(worker.close(), 30)
            task.cancel()
        await queue.addBulk(jobs(delayed, delay=3_600_000))
        await queue.addBulk(jobs(prioritized, priority=3))
        for start in range(0, waiting, batch):
            await queue.addBulk(jobs(min(batch, waiting - start)))
        flows = FlowProducer({"connection": connect()})
        seq += 1
        await flows.add({"name": "digest", "queueName": name, "data": {"n": seq}, "opts": JOB_OPTS,
                         "children": [{"name": "collect", "queueName": name, "data": {"n": seq, "part": 1}, "opts": JOB_OPTS}]})
        await flows.close()
        await queue.close()
    return await counts(connect, a.queues)


async def producer(a, connect):
    queues = {name: Queue(name, {"connection": connect()}) for name in a.queues}
    n, failures = 0, 0
    while True:
        started = time.monotonic()
        per_queue = 1 + int(time.time()) % 2
        for name, q in queues.items():
            for _ in range(per_queue):
                n += 1
                jname, data = job_body(name, n)
                try:
                    await q.add(jname, data, JOB_OPTS)
                    if failures:
                        log(f"producer: adds accepted again after {failures} refused")
                        failures = 0
                except Exception as err:  # Redis down, OOM, READONLY: the application retries later
                    failures += 1
                    if failures == 1 or failures % 50 == 0:
                        log(f"producer: add to {name} refused ({failures}): {type(err).__name__}: {err}"[:300])
        await asyncio.sleep(max(0.05, a.interval - (time.monotonic() - started)))


async def worker(a, connect):
    running = {"jobs": 0}

    async def process(job, token):
        running["jobs"] += 1
        await asyncio.sleep(random.uniform(0.3, 2.0))
        if job.data.get("fail") or int(job.data.get("n", 0)) % 10 == 7:
            raise RuntimeError("connect ETIMEDOUT 10.0.3.7:443")
        return {"ok": True}

    def finished(*_):
        running["jobs"] -= 1

    workers = []
    for name in a.queues:
        w = Worker(name, process, {"connection": connect(), "concurrency": 5, "name": "sandbox",
                                   "drainDelay": 5, "runRetryDelay": 1000, "autorun": False})
        w.on("error", lambda err, *rest, q=name: log(f"worker {q}: {type(err).__name__}: {err}"[:300]))
        # Emitted once the job's completion or failure is written (one per run of the processor).
        w.on("completed", finished)
        w.on("failed", finished)
        workers.append(w)

    # SIGTERM (the workers scaled down): no new job is taken (Worker.pause), the running ones
    # finish and are written, then the process ends and its connections close: nothing is left
    # stalled, as after a Node worker's graceful shutdown.
    async def shutdown():
        log(f"worker: SIGTERM, {running['jobs']} running jobs finish first")
        for w in workers:
            await w.pause(do_not_wait_active=True)
        deadline = time.monotonic() + 15
        while running["jobs"] > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        log(f"worker: stopped ({running['jobs']} jobs still running)")
        os._exit(0)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(shutdown()))
    # A Worker whose run() ends (it should not) ends the process: the sandbox starts it again.
    done, _ = await asyncio.wait([asyncio.ensure_future(w.run()) for w in workers], return_when=asyncio.FIRST_COMPLETED)
    for t in done:
        if t.exception():
            log(f"worker: run ended: {t.exception()!r}"[:300])
    return 1


async def main():
    a = parse_args()
    connect = bullmq_common.connector(a.redis, a.sentinel, a.master_set)
    if a.command == "seed":
        print(json.dumps({"queues": await seed(a, connect)}))
        return 0
    if a.command == "counts":
        print(json.dumps({"queues": await counts(connect, a.queues)}))
        return 0
    if a.command == "pause":
        for name in a.queues:
            q = Queue(name, {"connection": connect()})
            await q.pause()
            await q.close()
        print(json.dumps({"paused": a.queues}))
        return 0
    if a.command == "producer":
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    via = f"through Sentinel {','.join(a.sentinel)} (master set {a.master_set})" if a.sentinel else f"to Redis {a.redis}"
    log(f"{a.command} for {','.join(a.queues)} started (pid {os.getpid()}), connecting {via}")
    if a.command == "producer":
        await producer(a, connect)
    return await worker(a, connect)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
