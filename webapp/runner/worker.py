"""`flask worker`: a process that executes queued sessions (run as many as you like, anywhere)."""

from __future__ import annotations

import logging

import click

from webapp.runner import current_runner


@click.command("worker")
@click.option("--threads", type=int, default=4, show_default=True, help="Sessions executed at once")
def worker(threads: int) -> None:
    """Execute queued sessions until stopped (Ctrl-C or SIGINT stops gracefully, SIGTERM at once)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    runner = current_runner()
    consumer = runner.make_consumer(threads, signals=True)
    runner.start_sweeper(consumer.stop_flag)
    click.echo(f"worker: {threads} thread(s) on the {runner.queue_kind()} queue", err=True)
    consumer.run()
