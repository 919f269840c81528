"""Accuracy of the DTW aligner (espeak rendering vs recording) against pocketsphinx.

English held-out prompts of asterisk-core-sounds-en-g722: pocketsphinx's forced alignment
is the reference; the DTW aligner gets the same transcript and recording. Errors are the
start-time differences of the phones both alignments share (``align.boundary_errors``).

    python benchmarks/real_alignment.py PACKAGE_FOLDER [--split heldout] [--fetch]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from moda_cli.motion.train import align, realspeech


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="folder holding the Debian packages (see realspeech)")
    ap.add_argument("--split", default="heldout", choices=("train", "heldout"))
    ap.add_argument("--fetch", action="store_true", help="apt-get download missing packages")
    args = ap.parse_args()
    prompts = [
        p
        for p in realspeech.prompts("en-allison", args.folder, args.fetch)
        if p.text and p.split == args.split
    ]
    aligner, errors, skipped, started = align.english_aligner(), [], 0, time.perf_counter()
    for p in prompts:
        samples = realspeech.decode(p)
        try:
            reference = aligner.align(samples, p.text or "")
        except align.AlignError as exc:
            skipped += 1
            print(f"skipped {p.key}: {exc}")
            continue
        errors.append(
            align.boundary_errors(
                reference.phonemes, align.dtw_align(samples, p.text or "", "en-us").phonemes
            )
        )
    e = np.concatenate(errors) * 1000.0
    print(
        f"{len(errors)} prompts ({skipped} skipped), {len(e)} matched phones, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(
        f"phone start error: mean {e.mean():.0f} ms, median {np.median(e):.0f} ms, "
        f"within 50 ms {np.mean(e < 50):.1%}, within 100 ms {np.mean(e < 100):.1%}"
    )


if __name__ == "__main__":
    main()
