"""Upload benchmark: BlobSink (what -OutputSasUri uses) against the SDK's own upload_blob.

Starts a private Azurite, writes N MiB of incompressible data once, then uploads the same file
through BlobSink.deliver and through ContainerClient.upload_blob(max_concurrency=4), alternating
the order over the rounds, and prints the best time of each and the ratio (target <= 1.15).

    .venv/bin/python bench/upload.py [--mb 512] [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from azure.storage.blob import ContainerClient  # noqa: E402
from servers import start_azurite  # noqa: E402

from collector.sinks.blob import API_VERSION, BlobSink  # noqa: E402
from session.environment import Environment  # noqa: E402


def make_file(path: Path, mb: int) -> None:
    chunk = os.urandom(1024 * 1024)
    with open(path, "wb") as f:
        for i in range(mb):
            # vary each MiB a little so nothing downstream can deduplicate
            f.write(i.to_bytes(8, "little") + chunk[8:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="azs-bench-upload-"))
    data = work / "payload.bin"
    make_file(data, args.mb)
    size = data.stat().st_size
    sink_times, sdk_times = [], []
    with start_azurite() as az:
        url = az.make_container_sas("bench-upload")
        env = Environment(state_dir=work / "state")
        for r in range(args.rounds):
            def run_sink(r: int = r) -> None:
                sink = BlobSink(url, env)
                sink.open_bundle(f"sink{r}")
                t = time.perf_counter()
                sink.deliver(data, "payload.bin")
                sink_times.append(time.perf_counter() - t)
                sink.close()

            def run_sdk(r: int = r) -> None:
                cc = ContainerClient.from_container_url(url, api_version=API_VERSION)
                t = time.perf_counter()
                with open(data, "rb") as f:
                    cc.upload_blob(f"sdk{r}/payload.bin", f, length=size, overwrite=True, max_concurrency=4)
                sdk_times.append(time.perf_counter() - t)
                cc.close()

            for run in ((run_sink, run_sdk) if r % 2 == 0 else (run_sdk, run_sink)):
                run()
            # drop this round's blobs so Azurite's store does not grow across rounds
            cc = az.container("bench-upload")
            for b in list(cc.list_blobs()):
                cc.delete_blob(b.name)
    best_sink, best_sdk = min(sink_times), min(sdk_times)
    mib = size / 2**20
    print(f"payload                         {mib:.0f} MiB, {args.rounds} rounds")
    all_sink, all_sdk = ", ".join(f"{t:.2f}" for t in sink_times), ", ".join(f"{t:.2f}" for t in sdk_times)
    print(f"BlobSink.deliver (4 x 8 MiB)    {best_sink:6.2f} s  {mib / best_sink:6.1f} MiB/s  (all: {all_sink})")
    print(f"SDK upload_blob(max_conc=4)     {best_sdk:6.2f} s  {mib / best_sdk:6.1f} MiB/s  (all: {all_sdk})")
    print(f"ratio BlobSink / SDK            {best_sink / best_sdk:6.2f}  (target <= 1.15)")
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
