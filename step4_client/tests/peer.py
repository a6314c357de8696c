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
  peer.py fake [busy]           a stand-in for d and one w, as PROTOCOL.md says
                                they answer (so that the client is tested
                                without the kit's d and w): print "d=PORT
                                w=PORT"; log "connect" per d connection and
                                "handover id=N type=T" on stderr; "busy": d
                                answers every request "error busy"; runs
                                until killed
Exit status: 0, or 1 with a message if a connection could not be made.
"""
import os
import random
import secrets
import selectors
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


class Fake:
    """d and one w in one process: d hands each request a fresh token
    for the w, the w serves it (requetetype1: a result; requetetype2: an
    echo until end of file, then "end <id> <count>")."""

    BUSY = "error busy every w is busy and the queue is full\n"

    def __init__(self, busy):
        self.busy, self.next_id, self.tokens = busy, 0, {}
        self.sel = selectors.DefaultSelector()
        self.d, self.w = self.listen(self.on_d), self.listen(self.on_w)

    def listen(self, handler):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        self.sel.register(s, selectors.EVENT_READ, (self.accept, handler))
        return s

    def accept(self, s, handler):
        c, _ = s.accept()
        if handler == self.on_d:
            print("connect", file=sys.stderr, flush=True)
        self.sel.register(c, selectors.EVENT_READ, (handler, {"buf": b""}))

    def close(self, c):
        self.sel.unregister(c)
        c.close()

    def lines(self, c, st):
        """The complete lines c sent (None at end of file)."""
        data = c.recv(4096)
        if not data:
            return None
        st["buf"] += data
        *done, st["buf"] = st["buf"].split(b"\n")
        return [line.decode("latin-1") for line in done]

    def on_d(self, c, st):
        lines = self.lines(c, st)
        if lines is None:
            return self.close(c)
        for line in lines:
            if line not in ("requetetype1", "requetetype2"):
                c.sendall(b"error unknown expected requetetype1 or requetetype2\n")
            elif self.busy:
                c.sendall(self.BUSY.encode())
            else:
                self.next_id += 1
                token = secrets.token_hex(8)
                self.tokens[token] = (self.next_id, line)
                print(f"handover id={self.next_id} type={line}", file=sys.stderr, flush=True)
                c.sendall(f"{self.w.getsockname()[1]} {token}\n".encode())

    def on_w(self, c, st):
        lines = self.lines(c, st)
        if lines is None:
            if "job" in st and st["job"][1] == "requetetype2":
                c.sendall(f"end {st['job'][0]} {st['echoed']}\n".encode())
            return self.close(c)
        for line in lines:
            if "job" in st:		# requetetype2: echo
                st["echoed"] += 1
                c.sendall(line.encode("latin-1") + b"\n")
                continue
            job = self.tokens.pop(line, None)
            if job is None:
                c.sendall(b"error badtoken no request of yours is waiting here\n")
                return self.close(c)
            c.sendall(f"ok {job[0]} {job[1]}\n".encode())
            if job[1] == "requetetype1":
                c.sendall(f"result {job[0]} requetetype1 done by w1 in 0 ms\n".encode())
                return self.close(c)
            st["job"], st["echoed"] = job, 0

    def run(self):
        print(f"d={self.d.getsockname()[1]} w={self.w.getsockname()[1]}", flush=True)
        while True:
            for key, _ in self.sel.select():
                handler, arg = key.data
                handler(key.fileobj, arg)


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
        elif argv[1:2] == ["fake"] and argv[2:] in ([], ["busy"]):
            Fake(argv[2:] == ["busy"]).run()
        else:
            sys.stderr.write(__doc__)
            return 2
    except OSError as e:
        print(f"peer.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
