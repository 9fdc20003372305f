#!/usr/bin/python3
"""Reads perfwire frames into a pandas DataFrame and plots CPU per command.

    /usr/bin/python3 clients/python/examples/frames_to_pandas.py \
        --socket /run/perfwire/perfwire.sock --count 10 --png /tmp/cpu.png
    perfwire record -o /tmp/live.pwrec --count 10
    /usr/bin/python3 clients/python/examples/frames_to_pandas.py \
        --recording /tmp/live.pwrec --png /tmp/cpu.png

Runs headless (matplotlib's Agg backend). Prints `frames=K rows=N png=PATH`.
A torn or corrupt recording is reported on stderr and every whole frame before
the damage is used (like `perfwire replay`); exit status 1 when nothing can
be read at all.
"""

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import perfwire_reader as pr  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--socket", default="/run/perfwire/perfwire.sock",
                        help="perfwired's socket (default: %(default)s)")
    source.add_argument("--recording", help="a `perfwire record -o` file")
    parser.add_argument("--count", type=int, default=10,
                        help="frames to read from the socket (0: until the end)")
    parser.add_argument("--png", default="perfwire_cpu.png", help="plot to write")
    parser.add_argument("--csv", help="also write the DataFrame as CSV")
    parser.add_argument("--generated", help="flatc's Python output dir (<build>/python)")
    parser.add_argument("--top", type=int, default=5, help="commands to plot")
    args = parser.parse_args()

    pr.add_generated_path(args.generated)
    try:
        if args.recording:
            reader = pr.FrameReader.open_recording(args.recording)
            count = 0
        else:
            reader = pr.FrameReader.connect(args.socket)
            count = args.count
    except (OSError, ValueError) as e:
        print(f"frames_to_pandas: error: {e}", file=sys.stderr)
        return 1
    rows = []
    with reader:
        try:
            for frame in reader.frames(count=count):
                rows.extend(pr.thread_rows(frame))
        except pr.CorruptRecordingError as e:
            print(f"frames_to_pandas: {e}", file=sys.stderr)  # keep the rest
        except (OSError, ValueError) as e:
            print(f"frames_to_pandas: error: {e}", file=sys.stderr)
            return 1
        frames = reader.frames_read

    df = pd.DataFrame(rows)
    if args.csv:
        df.to_csv(args.csv, index=False)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if not df.empty:
        per_comm = df.groupby(["seq", "comm"])["cpu_percent"].sum().unstack(fill_value=0)
        top = per_comm.sum().sort_values(ascending=False).head(args.top).index
        per_comm[top].plot(ax=ax)
    ax.set_xlabel("frame seq")
    ax.set_ylabel("CPU % (sum over threads)")
    ax.set_title("perfwire: CPU by command")
    fig.tight_layout()
    fig.savefig(args.png)
    print(f"frames={frames} rows={len(df)} png={args.png}")
    if not df.empty:
        print(df.groupby("comm")["cpu_seconds"].sum().sort_values(ascending=False).head(5)
              .to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
