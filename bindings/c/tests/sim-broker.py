#!/usr/bin/env python3
"""sim-broker.py: starts ucwa-sim processes on behalf of test programs that cannot start the
Linux simulator themselves (owned by bindings/c/tests).

The Windows build of the C tests runs under Wine, and a Windows process can start a Unix
program there but can neither read its stdout nor stop it. With UCWA_SIM_BROKER=PORT the test
harness (bindings/c/common/portable.c) connects to this broker instead: it sends one line, the
simulator's arguments separated by tabs, and reads the simulator's stdout from the connection
(first line: the discovery root URL). When the connection closes, because the test stopped its
simulator, ended or crashed, the broker stops that simulator (SIGTERM, then SIGKILL).

    sim-broker.py SIM_PATH      prints "PORT" on its first stdout line, serves until SIGTERM
"""
import os
import signal
import socket
import subprocess
import sys
import threading

running: set = set()
running_lock = threading.Lock()


def serve(conn: socket.socket, sim_path: str) -> None:
    with conn:
        request = b""
        while not request.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        line = request.decode("utf-8").rstrip("\r\n")
        args = line.split("\t") if line else []
        stderr = None if os.environ.get("UCWA_SIM_STDERR") else subprocess.DEVNULL
        sim = subprocess.Popen([sim_path, *args], stdout=subprocess.PIPE, stderr=stderr,
                               stdin=subprocess.DEVNULL)
        with running_lock:
            running.add(sim)

        def forward() -> None:
            # The simulator's stdout goes to the test as it comes (its URL first).
            for chunk in iter(lambda: sim.stdout.read1(4096), b""):
                try:
                    conn.sendall(chunk)
                except OSError:
                    return

        threading.Thread(target=forward, daemon=True).start()
        try:
            while conn.recv(4096):
                pass  # the test sends nothing more; EOF or a reset means "stop it"
        except OSError:
            pass
        sim.terminate()
        try:
            sim.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()
        with running_lock:
            running.discard(sim)


def stop_all(*_) -> None:
    # Stopping the broker stops every simulator it still runs.
    with running_lock:
        for sim in running:
            sim.kill()
    os._exit(0)


def main() -> None:
    sim_path = sys.argv[1]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, sim_path), daemon=True).start()


if __name__ == "__main__":
    main()
