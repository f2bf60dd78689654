# Python `websockets` as a client of the listener: echo of text and binary, a ping, and
# the close code in both directions. Prints one JSON line with what it saw.
import asyncio
import json
import sys

import websockets


async def main(url: str, mode: str) -> None:
    async with websockets.connect(url, subprotocols=["chat.v1"], max_size=None) as ws:
        out = {"subprotocol": ws.subprotocol}
        if mode == "echo":
            await ws.send("hello from python")
            out["text"] = await ws.recv()
            await ws.send(bytes([0, 1, 2, 255]))
            out["binary"] = list(await ws.recv())
            pong = await ws.ping(b"py-ping")
            await pong
            out["pong"] = True
            await ws.close(code=4000, reason="py done")
        elif mode == "server-closes":
            await ws.send("close please")
            try:
                await ws.recv()
            except websockets.ConnectionClosed:
                pass
        out["code"] = ws.close_code
        out["reason"] = ws.close_reason
        print(json.dumps(out), flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2]))
