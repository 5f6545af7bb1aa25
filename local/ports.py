#!/usr/bin/env python3
"""Checks, before `make run` starts anything, that each of its loopback ports is free.

    local/ports.py [--pids FILE] PORT=WHAT ...

Tries to bind 127.0.0.1:PORT as the part that will listen there would (SO_REUSEADDR, as Rust's
TcpListener does). For each port that is taken it prints one line naming the port, the part
that needs it, and what holds it when that can be found: the process (from /proc on Linux, else
`lsof`), or the user owning the socket when the process is someone else's. FILE is `make run`'s
list of the processes it started (pid, name, start time per line): a holder listed there is
named as an earlier run of this checkout. Exits 1 when any port is taken, 0 otherwise."""
import errno
import os
import pwd
import shutil
import socket
import subprocess
import sys


def taken(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return None
    except OSError as e:
        return e
    finally:
        s.close()


def sockets_on(port):
    """(inode, uid) of the sockets bound to PORT, from /proc/net/tcp{,6} (Linux)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table, encoding="ascii").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, uid, inode = fields[1], fields[7], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == port and inode != "0":
                found.append((inode, int(uid)))
    return found


def process_holding(inodes):
    """The first (pid, command line) whose open files include one of these socket inodes."""
    wanted = {f"socket:[{i}]" for i in inodes}
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # someone else's, or gone
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return int(pid), command_of(int(pid))
            except OSError:
                continue
    return None


def command_of(pid):
    try:
        raw = open(f"/proc/{pid}/cmdline", "rb").read()
        return raw.replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        out = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True)
        return out.stdout.strip()


def lsof_holder(port):
    if not shutil.which("lsof"):
        return None
    out = subprocess.run(["lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN", "-Fp"],
                         capture_output=True, text=True).stdout
    pids = [int(line[1:]) for line in out.splitlines() if line.startswith("p")]
    return (pids[0], command_of(pids[0])) if pids else None


def ours(pids_file):
    """pid -> name of the parts an earlier run of this checkout started (and that still run)."""
    parts = {}
    try:
        lines = open(pids_file, encoding="utf-8").read().splitlines()
    except OSError:
        return parts
    for line in lines:
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0].isdigit():
            parts[int(fields[0])] = fields[1]
    return parts


def holder_of(port, earlier):
    sockets = sockets_on(port)
    holder = process_holding([i for i, _ in sockets]) if sockets else lsof_holder(port)
    if holder:
        pid, command = holder
        if pid in earlier:
            return (f"by an earlier `make run` of this checkout ({earlier[pid]}, pid {pid}): stop it "
                    "with Ctrl-C in its terminal, or `local/stop.sh` if it runs in the background")
        return f"by pid {pid} ({command[:100]})"
    if sockets:
        uid = sockets[0][1]
        try:
            user = pwd.getpwuid(uid).pw_name
        except KeyError:
            user = f"uid {uid}"
        return f"by a process of user {user}, which this user cannot see (`sudo ss -ltnp` names it)"
    return "(what holds it could not be found)"


def main(args):
    earlier = {}
    if args[:1] == ["--pids"]:
        earlier, args = ours(args[1]), args[2:]
    problems, seen = [], {}
    for arg in args:
        port, _, what = arg.partition("=")
        port = int(port)
        if port in seen:
            problems.append(f"port {port} is given for both {seen[port]} and {what}")
            continue
        seen[port] = what
        error = taken(port)
        if error is None:
            continue
        if error.errno == errno.EADDRINUSE:
            problems.append(f"127.0.0.1:{port}, for {what}, is taken {holder_of(port, earlier)}")
        else:
            problems.append(f"127.0.0.1:{port}, for {what}, cannot be used: {error.strerror}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
