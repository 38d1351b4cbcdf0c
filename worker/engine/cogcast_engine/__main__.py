"""Entry point (`python -m cogcast_engine`): claim stdout, read the settings, start the engine and serve."""

import logging
import sys


def main() -> int:
    # 1. Before anything can print: stdout is for protocol lines only
    from .stdio import claim_stdout

    writer = claim_stdout()

    # 2. Logs to stderr, WARNING until the settings say otherwise
    logging.basicConfig(stream=sys.stderr, level="WARNING", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger = logging.getLogger("cogcast_engine")

    # 3. The worker may die without a word (SIGKILL): this process must not outlive it (see parent_watch.py)
    from .parent_watch import exit_with_parent

    exit_with_parent()

    # 4. Configure (cheap, before torch is imported, so a bad setting fails in milliseconds), load, warm up.
    #    A failure here is reported once, with job_id null, and the process exits non-zero.
    from .protocol import Error

    try:
        from .envs import EngineConfig

        config = EngineConfig.from_env()
        logging.getLogger().setLevel(config.log_level)

        from .engine import Engine

        engine = Engine(config, config.presets, writer)
        engine.start()
    except Exception as error:
        logger.exception("engine start-up failed")
        writer.send(Error(job_id=None, kind="internal", message=f"start-up failed: {type(error).__name__}: {error}"))
        return 1

    # 5. Serve until shutdown or EOF
    engine.serve(sys.stdin.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
