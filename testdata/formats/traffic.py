#!/usr/bin/env python3
"""Traffic for the format fixtures (run by make.sh inside namespaces fmt-a/fmt-b).

  traffic.py server            listen on TCP 8080 and UDP 9999 (IPv4 + IPv6)
  traffic.py client            make the connections, pings and datagrams

Only the addresses 10.99.0.0/24 and fd99::/64 of make.sh's own namespaces
are used.
"""
import os
import select
import socket
import struct
import sys
import time

V4_SERVER = "10.99.0.2"
V6_SERVER = "fd99::2"
PORT = 8080
CLOSED_PORT = 9
UDP_PORT = 9999


def server():
    socks = []
    for fam, addr in ((socket.AF_INET, V4_SERVER), (socket.AF_INET6, V6_SERVER)):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, PORT))
        s.listen(16)
        socks.append(s)
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((addr, UDP_PORT))
        socks.append(u)
    print("ready", flush=True)
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            if s.type == socket.SOCK_DGRAM:
                s.recvfrom(2048)
                continue
            c, _ = s.accept()
            data = c.recv(4096)
            c.sendall(data.upper())
            while c.recv(4096):
                pass
            c.close()


def tcp(fam, addr, payload):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.connect((addr, PORT))
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += s.recv(4096)
    time.sleep(0.05)
    s.close()
    time.sleep(0.2)


def refused(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    try:
        s.connect((addr, CLOSED_PORT))
    except ConnectionRefusedError:
        pass
    s.close()
    time.sleep(0.2)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF)
    t += t >> 16
    return ~t & 0xFFFF


def ping(fam, addr):
    if fam == socket.AF_INET:
        s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        hdr = struct.pack("!BBHHH", 8, 0, 0, 0x99, 1) + b"tcptimeline-ping"
        hdr = hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:]
    else:
        # The kernel fills in the ICMPv6 checksum.
        s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        hdr = struct.pack("!BBHHH", 128, 0, 0, 0x99, 1) + b"tcptimeline-ping"
    s.settimeout(2)
    s.sendto(hdr, (addr, 0))
    try:
        s.recv(2048)
    except socket.timeout:
        pass
    s.close()
    time.sleep(0.2)


def udp(fam, addr):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.sendto(b"tcptimeline-udp\n", (addr, UDP_PORT))
    s.close()
    time.sleep(0.2)


def client():
    big = bytes((b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36] for i in range(300)))
    for fam, addr in ((socket.AF_INET, V4_SERVER), (socket.AF_INET6, V6_SERVER)):
        tcp(fam, addr, b"hello\n")
        tcp(fam, addr, big)
        refused(fam, addr)
        ping(fam, addr)
        udp(fam, addr)


if __name__ == "__main__":
    {"server": server, "client": client}[sys.argv[1]]()
