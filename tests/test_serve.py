"""`workbench --serve` (issue 31): the app in a browser through textual-serve. Driven as a browser
drives it: the page over HTTP, then the app over its websocket (keys in, screen out). No browser
runs here (none can be installed from the registries), so xterm.js's drawing is not tested."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
import urllib.request

import aiohttp
import pytest

from tests.test_cli import assert_one_line_error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def workbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "workbench.tui", *args]


@contextlib.contextmanager
def served(tmp_path, port: int):
    server = subprocess.Popen(workbench("--serve", "--port", str(port)),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    yield page.read().decode()
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)


async def screen_after(port: int, keys: str, word: str) -> bytes:
    """Open the app's websocket as the page does, type ``keys``, and read the screen's bytes
    until ``word`` is drawn."""
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{port}/ws?width=120&height=40"
        async with session.ws_connect(url) as websocket:
            seen = b""

            async def until(text: str) -> None:
                nonlocal seen
                while text.encode() not in seen:
                    message = await asyncio.wait_for(websocket.receive(), 60)
                    assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
                    seen += (message.data if isinstance(message.data, bytes)
                             else message.data.encode())

            await until("Digit Workbench")
            seen = b""
            await websocket.send_json(["stdin", keys])
            await until(word)
            return seen


def test_the_served_app_loads_in_a_page_and_a_key_switches_screens(tmp_path):
    port = free_port()
    with served(tmp_path, port) as page:
        assert "<html" in page.lower() and f"127.0.0.1:{port}/ws" in page
        drawn = asyncio.run(screen_after(port, "t", "Start (g)"))
        assert b"Train" in drawn


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_port_that_is_no_port_is_refused(tmp_path, port):
    result = subprocess.run(workbench("--serve", "--port", port), cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert_one_line_error(result, "is not a port")


def test_a_port_in_use_is_one_sentence(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(workbench("--serve", "--port", str(port)),
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert_one_line_error(result, f"cannot serve on 127.0.0.1:{port}", "another --port")
