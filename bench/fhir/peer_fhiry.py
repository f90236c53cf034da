"""The Python peer: fhiry flattens every bundle into a pandas DataFrame; the
frames are concatenated and written as CSV (bundles -> a table on disk, as
`salus import fhir` does). Usage: python peer_fhiry.py DATA_DIR OUT_CSV
"""
import os
import sys

import pandas as pd
from fhiry import Fhiry


def main():
    folder, out = sys.argv[1], sys.argv[2]
    frames = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            frames.append(Fhiry().process_file(os.path.join(folder, name)))
    df = pd.concat(frames, ignore_index=True)
    df.to_csv(out, index=False)
    print(f"rows={len(df)} columns={len(df.columns)}")


if __name__ == "__main__":
    main()
