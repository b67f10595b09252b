#!/usr/bin/env python3
"""traffic.py: the traffic of the stall fixtures (make.sh runs it).

    traffic.py server SCENARIO      in namespace st-s (10.98.0.2)
    traffic.py client SCENARIO      in namespace st-c (10.98.0.1)

The client changes the server namespace's nftables rules itself (with
`ip netns exec st-s nft ...`) at the moments its scenario says, so that the
drops line up with its traffic. Every drop is a rule in the table printed to
stderr; nothing is random.
"""
import socket
import subprocess
import sys
import time

SERVER = "10.98.0.2"
PORT = 8080


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def nft(ns, *rule):
    cmd = ["ip", "netns", "exec", ns, "nft"] + list(rule)
    log("nft", ns, " ".join(rule))
    subprocess.run(cmd, check=True)


def recv_all(s):
    n = 0
    while True:
        b = s.recv(65536)
        if not b:
            return n
        n += len(b)


def server(scenario):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if scenario == "zero-window":
        # A small receive buffer, so that the window closes after a few
        # segments while the application does not read.
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind((SERVER, PORT))
    ls.listen(8)
    conns = {"zero-window": 1, "keepalive": 1, "rto": 1, "loss": 1, "reuse": 3}[scenario]
    for _ in range(conns):
        s, peer = ls.accept()
        log("accepted", peer)
        if scenario == "zero-window":
            time.sleep(2.5)  # the application stops reading
            n = recv_all(s)
            log("read", n)
            s.sendall(b"ok\n")
            s.close()
        elif scenario == "keepalive":
            s.recv(100)
            s.sendall(b"pong\n")
            time.sleep(30)  # the client's keep-alives do the rest; killed by make.sh
        elif scenario in ("rto",):
            for _ in range(2):
                b = s.recv(65536)
                s.sendall(b[:10])
            recv_all(s)
            s.close()
        elif scenario == "loss":
            n = recv_all(s)
            log("read", n)
            s.sendall(b"ok\n")
            s.close()
        elif scenario == "reuse":
            s.recv(100)
            s.sendall(b"bye\n")
            s.close()  # the server closes first: its side goes to TIME-WAIT
    time.sleep(1)


def client(scenario):
    if scenario == "zero-window":
        s = socket.create_connection((SERVER, PORT))
        s.sendall(b"x" * 200000)
        s.shutdown(socket.SHUT_WR)
        log("reply", s.recv(100))
        s.close()
    elif scenario == "keepalive":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
        s.connect((SERVER, PORT))
        s.sendall(b"ping\n")
        log("reply", s.recv(100))
        time.sleep(3.5)  # idle: keep-alives, answered
        # The server host stops answering: everything from the client is
        # dropped at its input (after its capture point).
        nft("st-s", "add", "rule", "inet", "st", "in", "ip", "saddr", "10.98.0.1", "drop")
        try:
            s.recv(100)  # the keep-alives go unanswered until the kernel gives up
        except OSError as e:
            log("recv:", e)
        nft("st-s", "flush", "chain", "inet", "st", "in")
        s.close()
    elif scenario == "rto":
        s = socket.create_connection((SERVER, PORT))
        s.sendall(b"a" * 1000)
        log("echo", len(s.recv(100)))
        # The server host drops the client's data at its input, after its
        # capture point: the client retransmits on its timer, backing off.
        nft("st-s", "add", "rule", "inet", "st", "in", "ip", "saddr", "10.98.0.1",
            "tcp", "dport", str(PORT), "meta", "length", ">", "60", "drop")
        s.sendall(b"b" * 1000)
        time.sleep(1.7)
        nft("st-s", "flush", "chain", "inet", "st", "in")
        log("echo", len(s.recv(100)))
        s.close()
    elif scenario == "loss":
        # Some data segments are dropped at the client's output, before
        # either capture point, and others at the server's input, after
        # both: the first kind leaves gaps in the captures, the second not.
        nft("st-c", "add", "rule", "inet", "st", "out", "ip", "daddr", SERVER, "tcp", "dport", str(PORT),
            "meta", "length", ">", "200", "numgen", "inc", "mod", "23", "==", "11", "drop")
        nft("st-s", "add", "rule", "inet", "st", "in", "ip", "saddr", "10.98.0.1", "tcp", "dport", str(PORT),
            "meta", "length", ">", "200", "numgen", "inc", "mod", "19", "==", "7", "drop")
        s = socket.create_connection((SERVER, PORT))
        s.sendall(b"y" * 300000)
        s.shutdown(socket.SHUT_WR)
        log("reply", s.recv(100))
        s.close()
        nft("st-c", "flush", "chain", "inet", "st", "out")
        nft("st-s", "flush", "chain", "inet", "st", "in")
    elif scenario == "reuse":
        # The same client port three times: 0.5 s after the first
        # connection closed (a new SYN into the server's TIME-WAIT), and
        # 3 s after the second.
        for pause in (0.5, 3.0, 0):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("10.98.0.1", 40404))
            s.connect((SERVER, PORT))
            s.sendall(b"hello\n")
            log("reply", s.recv(100))
            s.close()
            time.sleep(pause)


if __name__ == "__main__":
    {"server": server, "client": client}[sys.argv[1]](sys.argv[2])
