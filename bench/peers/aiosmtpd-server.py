# aiosmtpd's server for the server benchmark: every message is accepted and discarded. Prints
# {"port":N} once listening on 127.0.0.1; exits on SIGTERM. Needs Debian's python3-aiosmtpd
# (bench/setup-peers.sh installs it).
import asyncio
import json
import signal
import socket
import sys

from aiosmtpd.smtp import SMTP


class Discard:
    async def handle_DATA(self, server, session, envelope):
        return '250 OK'


async def main():
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    server = await loop.create_server(
        lambda: SMTP(Discard(), hostname='bench.example.test', data_size_limit=64 << 20), sock=sock, backlog=4096
    )
    print(json.dumps({'port': sock.getsockname()[1]}), flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    await stop
    server.close()


asyncio.run(main())
sys.exit(0)
