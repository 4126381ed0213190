"""Starts the local AWS endpoints the tests need, in this one process, on free 127.0.0.1 ports.

    python serve.py [--moto] [--emulator] [--runtime-api NAME ...] [--region R] [--verbose]

prints exactly one JSON line on stdout, e.g.
    {"moto": "http://127.0.0.1:5001", "emulator": "http://127.0.0.1:5002",
     "runtime_apis": {"deploy-hook": "127.0.0.1:5003"}}
(`moto` and `emulator` are null when not asked for), then serves until stdin reaches EOF,
so that the process never outlives its parent. Logs go to stderr only.
"""

import argparse
import json
import logging
import os
import signal
import sys

import emulator
import httpbase
import runtime_api


def start_moto(verbose):
    from moto.server import ThreadedMotoServer

    if not verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=verbose)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moto", action="store_true", help="start moto server")
    parser.add_argument("--emulator", action="store_true", help="start the CodeCommit/Build/Deploy/Pipeline emulator")
    parser.add_argument("--runtime-api", action="append", default=[], metavar="NAME",
                        help="start a Lambda Runtime API for function NAME (repeatable)")
    parser.add_argument("--region", default="us-east-1", help="region of the functions' ARNs")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args()

    # Only the endpoints line may reach stdout: anything a library prints goes to stderr.
    out, sys.stdout = sys.stdout, sys.stderr
    httpbase.VERBOSE = args.verbose
    logging.basicConfig(stream=sys.stderr, level=logging.INFO if args.verbose else logging.WARNING)

    stops, line = [], {"moto": None, "emulator": None, "runtime_apis": {}}
    if args.moto:
        moto, line["moto"] = start_moto(args.verbose)
        stops.append(moto.stop)
    if args.emulator:
        server = emulator.EmulatorServer().start()
        line["emulator"] = f"http://{server.hostport}"
        stops.append(server.stop)
    for name in args.runtime_api:
        if name in line["runtime_apis"]:
            parser.error(f"--runtime-api {name} given twice")
        server = runtime_api.RuntimeApiServer(name, args.region).start()
        line["runtime_apis"][name] = server.hostport
        stops.append(server.stop)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    out.write(json.dumps(line) + "\n")
    out.flush()
    try:
        sys.stdin.buffer.read()
    except KeyboardInterrupt:
        pass
    for stop in reversed(stops):
        try:
            stop()
        except Exception:  # noqa: BLE001 - we are leaving anyway
            pass
    # Long-polling handler threads are daemons; leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    main()
