#!/usr/bin/env python3
"""peer.py - a misbehaving (or merely numerous) TCP peer for step 4's tests.

Usage:
  peer.py hold PORT N SECONDS   open N connections to 127.0.0.1:PORT at once,
                                say "held N" on stderr, keep them SECONDS,
                                close them
  peer.py burst PORT N          connect and close at once, N times; print
                                "burst N refused R"
  peer.py random PORT N SEED    send N random bytes (from SEED), print what the
                                server answers (hex-escaped) until it closes
                                or stays silent $PEER_WAIT s (0.5)
  peer.py send PORT TEXT        send TEXT exactly (Python escapes allowed, e.g.
                                "requet" or "a\\x00b\\n"), then close at once
  peer.py reset PORT LINE       send LINE, print the first line of the answer,
                                then abort the connection (a reset, not a close)
Exit status: 0, or 1 with a message if a connection could not be made.
"""
import os
import random
import resource
import socket
import struct
import sys
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def hold(port, n, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = [connect(port) for _ in range(n)]
    print(f"held {len(socks)}", file=sys.stderr, flush=True)
    time.sleep(seconds)
    for s in socks:
        s.close()


def burst(port, n):
    refused = 0
    for _ in range(n):
        try:
            connect(port).close()
        except ConnectionRefusedError:
            refused += 1
    print(f"burst {n} refused {refused}")


def answer(s):
    s.settimeout(float(os.environ.get("PEER_WAIT", "0.5")))
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def send_random(port, n, seed):
    rng = random.Random(seed)
    s = connect(port)
    try:
        s.sendall(bytes(rng.randrange(256) for _ in range(n)))
    except (BrokenPipeError, ConnectionResetError):
        pass
    print(repr(answer(s))[2:-1])
    s.close()


def send(port, text):
    s = connect(port)
    s.sendall(text.encode("latin-1").decode("unicode_escape").encode("latin-1"))
    s.close()


def reset(port, line):
    s = connect(port)
    s.sendall(line.encode() + b"\n")
    print(s.makefile("rb").readline().decode().rstrip("\n"), flush=True)
    # Linger 0: close() sends a reset at once, as a crashed client would.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def main(argv):
    try:
        if len(argv) == 5 and argv[1] == "hold":
            hold(int(argv[2]), int(argv[3]), float(argv[4]))
        elif len(argv) == 4 and argv[1] == "burst":
            burst(int(argv[2]), int(argv[3]))
        elif len(argv) == 5 and argv[1] == "random":
            send_random(int(argv[2]), int(argv[3]), int(argv[4]))
        elif len(argv) == 4 and argv[1] == "reset":
            reset(int(argv[2]), argv[3])
        elif len(argv) == 4 and argv[1] == "send":
            send(int(argv[2]), argv[3])
        else:
            sys.stderr.write(__doc__)
            return 2
    except OSError as e:
        print(f"peer.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
