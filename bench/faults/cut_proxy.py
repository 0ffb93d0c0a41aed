#!/usr/bin/env python3
"""A TCP proxy that can be cut: forwards 127.0.0.1:LISTEN to 127.0.0.1:TARGET. Once CUT_AFTER
bytes have gone upstream (once; 0: never), or on SIGUSR1, it resets every connection and refuses new
ones, until SIGUSR2 restores it. Prints the bytes forwarded upstream to STATE_FILE.

usage: cut_proxy.py LISTEN TARGET CUT_AFTER STATE_FILE
"""
import asyncio
import signal
import socket
import struct
import sys

LISTEN, TARGET, CUT_AFTER, STATE = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
state = {"up": 0, "cut": False, "armed": CUT_AFTER > 0}
writers = set()


def reset(writer):
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            # An abortive close (RST), as when a network path dies mid-transfer.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()
    except OSError:
        pass  # already closed


def cut():
    state["cut"] = True
    for w in list(writers):
        reset(w)
    with open(STATE, "w") as f:
        f.write(f"cut after {state['up']} bytes\n")


def restore():
    # Restored for good: the byte trigger fires once.
    state["cut"] = False
    state["armed"] = False
    with open(STATE, "w") as f:
        f.write(f"restored after {state['up']} bytes\n")


async def pipe(reader, writer, upstream):
    try:
        while data := await reader.read(65536):
            if state["cut"]:
                break
            writer.write(data)
            await writer.drain()
            if upstream:
                state["up"] += len(data)
                if state["armed"] and state["up"] >= CUT_AFTER and not state["cut"]:
                    cut()
    except (ConnectionError, OSError):
        pass
    finally:
        reset(writer)


async def handle(client_reader, client_writer):
    if state["cut"]:
        reset(client_writer)
        return
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    except OSError:
        reset(client_writer)
        return
    writers.update({client_writer, server_writer})
    await asyncio.gather(
        pipe(client_reader, server_writer, True), pipe(server_reader, client_writer, False)
    )
    writers.difference_update({client_writer, server_writer})


async def main():
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, cut)
    loop.add_signal_handler(signal.SIGUSR2, restore)
    server = await asyncio.start_server(handle, "127.0.0.1", LISTEN)
    with open(STATE, "w") as f:
        f.write("listening\n")
    async with server:
        await server.serve_forever()


asyncio.run(main())
