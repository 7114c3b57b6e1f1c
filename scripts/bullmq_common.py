"""What scripts/bullmq-traffic.py and scripts/bullmq-app.py share: how the real BullMQ client
(PyPI bullmq, the maintainers' Python port) is connected to Redis.

The password comes from $REDIS_PASSWORD (never from the command line)."""
import os


def check_address(parser, s):
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"{s}: expected HOST:PORT")


def connector(redis_addr, sentinels, master_set="mymaster"):
    """A function returning a new client for BullMQ: the master the Sentinels name, or one Redis."""
    # BullMQ reads replies as text (it builds its own client with decode_responses=True).
    # socket_timeout above the worker's longest blocking wait (10 s) so BZPOPMIN is not cut short.
    opts = {"decode_responses": True, "socket_timeout": 15, "socket_connect_timeout": 1}
    password = os.environ.get("REDIS_PASSWORD") or None
    if redis_addr:
        import redis.asyncio
        host, _, port = redis_addr.rpartition(":")
        return lambda: redis.asyncio.Redis(host=host, port=int(port), password=password, **opts)
    from redis.asyncio.sentinel import Sentinel
    sentinel = Sentinel([(s.rpartition(":")[0], int(s.rpartition(":")[2])) for s in sentinels],
                        sentinel_kwargs={"socket_timeout": 1, "socket_connect_timeout": 1},
                        socket_timeout=15, socket_connect_timeout=1)
    return lambda: sentinel.master_for(master_set, password=password, **opts)
