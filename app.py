"""GAN Explorer: `python app.py` serves the explorer at http://127.0.0.1:7860.

Options: --host, --port, --device (auto|cpu|cuda|mps), --weights DIR, --runs DIR, --threads N.
On a Hugging Face Space it listens on 0.0.0.0 (SPACE_ID is set there)."""

from __future__ import annotations

import argparse
import os
import signal
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no version-check call home

from explorer import paths  # noqa: E402  (a constant module: imports nothing heavy)

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME")
                   or ("0.0.0.0" if os.environ.get("SPACE_ID") else "127.0.0.1"))
    p.add_argument("--port", type=int, default=None, help="default: GRADIO_SERVER_PORT, else the first free from 7860")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--weights", default=str(paths.WEIGHTS), help="folder of shipped checkpoints")
    p.add_argument("--runs", default=str(paths.RUNS), help="folder of training runs")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads for rendering (1 is fastest for small batches on 2 cores)")
    return p.parse_args(argv)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def create_services(args):
    from explorer.device import pick_device, set_threads
    from explorer.train.jobs import JobManager
    from explorer.ui.services import Services

    jobs = JobManager.from_env(args.runs)
    # Reachable from other machines: the Train tab must not let them train on (and so see) any
    # folder this machine can read; uploads and the built-in sets stay. GAN_EXPLORER_SERVER_PATHS=1
    # allows folders anyway, for a trusted network.
    if args.host not in LOOPBACK and os.environ.get("GAN_EXPLORER_SERVER_PATHS") != "1":
        jobs.allow_server_paths = False
    set_threads(args.threads)
    return Services(args.weights, args.runs, pick_device(args.device), jobs=jobs)


def create_app(args):
    from explorer.ui.app import build_app

    return build_app(create_services(args))


def main(argv=None):
    args = parse_args(argv)
    from explorer.ui.app import LAUNCH_OPTIONS

    demo = create_app(args)
    # Ctrl-C or SIGTERM closes the app at once. Gradio's own Ctrl-C handling stops the server without
    # ending the open heartbeat streams (a browser tab, an API client) and waits 5 s for them; and a
    # SIGINT inherited as ignored (a job started in the background, a test runner) never reached it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    demo.launch(server_name=args.host, server_port=args.port, prevent_thread_lock=True, **LAUNCH_OPTIONS)
    try:
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()  # ends the heartbeat streams first, then the server


if __name__ == "__main__":
    main()
