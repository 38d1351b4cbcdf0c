"""`npm run model:download [-- --model THUDM/CogVideoX-2b --to models/CogVideoX-2b]`: fetch the weights once.

huggingface_hub's snapshot_download does the work: files already there are skipped and a cut download resumes,
with its progress bar in bytes. Before it starts, one line says how much is to come. Offline, or for an unknown
model, it prints one line and exits 1 (no traceback).
"""

import argparse
import os
import sys
from pathlib import Path

DEFAULT_MODEL = "THUDM/CogVideoX-2b"
DEFAULT_DIR = "models/CogVideoX-2b"


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1000
    return f"{n} B"


def fail(message: str) -> int:
    print(f"cogcast model:download: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"hub id to download (default {DEFAULT_MODEL})")
    parser.add_argument("--to", default=None, help=f"directory to put it in (default models/<name>: {DEFAULT_DIR})")
    parser.add_argument("--revision", default=None, help="branch, tag or commit (default: main)")
    args = parser.parse_args(argv)

    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    target = Path(args.to or f"models/{args.model.rstrip('/').split('/')[-1]}").expanduser().resolve()
    endpoint = constants.ENDPOINT
    offline = (
        f"cannot reach the Hugging Face hub ({endpoint}) to download {args.model}: this host looks offline. "
        f"Download it on a machine with internet and copy the folder to {target}, or set HF_ENDPOINT to a mirror."
    )
    try:
        # 1. What is to come: sizes from the hub, minus what the folder already holds (a resumed download)
        plan = snapshot_download(args.model, revision=args.revision, local_dir=target, dry_run=True)
        total = sum(f.file_size or 0 for f in plan)
        to_fetch = sum(f.file_size or 0 for f in plan if f.will_download)
        already = f", {human(total - to_fetch)} already there" if to_fetch < total else ""
        print(f"{args.model} -> {target}: {len(plan)} files, {human(total)}{already}; {human(to_fetch)} to download", file=sys.stderr)

        # 2. The download itself, resumable, with huggingface_hub's byte progress bar
        snapshot_download(args.model, revision=args.revision, local_dir=target)
    except (OfflineModeIsEnabled, LocalEntryNotFoundError):
        return fail(offline)
    except GatedRepoError:
        return fail(f"{args.model} needs you to accept its licence on {endpoint}/{args.model} and an HF_TOKEN.")
    except RepositoryNotFoundError:
        return fail(f"the hub knows no model {args.model} (or it is private: set HF_TOKEN).")
    except RevisionNotFoundError:
        return fail(f"{args.model} has no revision {args.revision}.")
    except HfHubHTTPError as error:
        return fail(f"the hub answered {args.model} with an error: {str(error).splitlines()[0]}")
    except KeyboardInterrupt:
        return fail(f"interrupted; run it again to resume into {target}.")
    except OSError as error:
        # Connection errors of httpx/requests are OSErrors underneath; a full disk is one too.
        if getattr(error, "errno", None) is None or "connect" in str(error).lower() or "resolve" in str(error).lower():
            return fail(offline)
        return fail(f"cannot write {target}: {error.strerror or error}")
    except Exception as error:  # the network libraries' own errors (httpx.ConnectError is not an OSError)
        name = type(error).__name__
        if "Connect" in name or "Timeout" in name or "Network" in name:
            return fail(offline)
        return fail(f"{name}: {str(error).splitlines()[0] if str(error) else 'failed'}")
    print(f"done: ENGINE_MODEL=auto now finds it on a CUDA host{'' if str(target).endswith(DEFAULT_DIR) else f' (or set ENGINE_MODEL={target})'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_ENABLE_HF_TRANSFER", "0")
    sys.exit(main())
