# Python `websockets` as a server for WebSocketClient: echoes; "drop" aborts the TCP
# connection without a close frame, "bye" closes normally with 1000. Prints its port.
import asyncio
import sys

import websockets


async def handler(ws, path=None):
    async for message in ws:
        if message == "drop":
            ws.transport.abort()
            return
        if message == "bye":
            await ws.close(code=1000, reason="python says bye")
            return
        await ws.send(message)


async def main() -> None:
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["chat.v1"]) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        # Runs until the test closes stdin.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


asyncio.run(main())
