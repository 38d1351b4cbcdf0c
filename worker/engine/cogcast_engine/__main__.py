"""Entry point (`python -m cogcast_engine`): claim stdout, configure logging, start the engine and serve."""

import logging
import os
import sys


def main() -> int:
    # 1. Before anything can print: stdout is for protocol lines only
    from .stdio import claim_stdout

    writer = claim_stdout()

    # 2. Logs to stderr, WARNING unless ENGINE_LOG_LEVEL says otherwise
    level = os.environ.get("ENGINE_LOG_LEVEL", "").strip().upper() or "WARNING"
    logging.basicConfig(
        stream=sys.stderr,
        level=level if isinstance(logging.getLevelName(level), int) else "WARNING",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logger = logging.getLogger("cogcast_engine")

    # 3. Configure (cheap, before torch is imported, so a bad setting fails in milliseconds), load, warm up.
    #    A failure here is reported once, with job_id null, and the process exits non-zero.
    from .protocol import Error

    try:
        from .envs import EngineConfig
        from .presets import load_presets

        config = EngineConfig.from_env()
        presets = load_presets(config.presets_file)

        from .engine import Engine

        engine = Engine(config, presets, writer)
        engine.start()
    except Exception as error:
        logger.exception("engine start-up failed")
        writer.send(Error(job_id=None, kind="internal", message=f"start-up failed: {type(error).__name__}: {error}"))
        return 1

    # 4. Serve until shutdown or EOF
    engine.serve(sys.stdin.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
