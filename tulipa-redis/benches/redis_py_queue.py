"""redis-py asyncio peer of the tulipa-redis throughput bench.

Same workload: 1 producer (XADD in pipelined batches of BATCH), CONSUMERS
consumers (XREADGROUP COUNT BATCH BLOCK, then one XACK per message, the
batch's XACKs pipelined), each with its own client; prints messages/s.
Usage: redis_py_queue.py PORT STREAM MESSAGES BATCH CONSUMERS
"""
import asyncio
import sys
import time

import redis.asyncio as redis


async def main(port, stream, n, batch, consumers):
    group = "g"
    admin = redis.Redis(port=port)
    await admin.xgroup_create(stream, group, id="0", mkstream=True)
    acked = 0
    done = asyncio.Event()

    async def produce():
        r = redis.Redis(port=port)
        sent = 0
        while sent < n:
            k = min(batch, n - sent)
            pipe = r.pipeline(transaction=False)
            for i in range(k):
                pipe.xadd(stream, {"d": b"x" * 16})
            await pipe.execute()
            sent += k
        await r.aclose()

    async def consume(name):
        nonlocal acked
        r = redis.Redis(port=port)
        while not done.is_set():
            got = await r.xreadgroup(group, name, {stream: ">"}, count=batch, block=100)
            if not got:
                continue
            pipe = r.pipeline(transaction=False)
            entries = got[0][1]
            for entry_id, _fields in entries:
                pipe.xack(stream, group, entry_id)
            await pipe.execute()
            acked += len(entries)
            if acked >= n:
                done.set()
        await r.aclose()

    start = time.perf_counter()
    tasks = [asyncio.create_task(consume(f"c{i}")) for i in range(consumers)]
    await produce()
    await done.wait()
    elapsed = time.perf_counter() - start
    await asyncio.gather(*tasks)
    await admin.delete(stream)
    await admin.aclose()
    print(f"{n / elapsed:.0f}")


if __name__ == "__main__":
    port, stream, n, batch, consumers = sys.argv[1:6]
    asyncio.run(main(int(port), stream, int(n), int(batch), int(consumers)))
