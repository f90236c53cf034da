"""Replicate FHIR bundles to a target size for benchmarking.

Every copy gets fresh UUIDs (ids, fullUrls, references), so each copy is a
distinct patient and `patients` grows with the input, as in a real export.
Usage: python3 make_data.py SRC_DIR OUT_DIR SIZE_MB
"""
import os
import re
import sys

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def main():
    src, out, size_mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    bundles = []
    for name in sorted(os.listdir(src)):
        if name.endswith(".json"):
            with open(os.path.join(src, name), encoding="utf-8") as f:
                bundles.append((name, f.read()))
    target = int(size_mb * 1024 * 1024)
    written, copy = 0, 0
    while written < target:
        for name, text in bundles:
            # Copy k: the first 8 hex digits of every UUID become k (hex), so
            # references between entries stay consistent within the copy.
            prefix = f"{copy:08x}"
            data = UUID.sub(lambda m: prefix + m.group(0)[8:], text)
            path = os.path.join(out, f"{copy:06d}-{name}")
            with open(path, "w", encoding="utf-8") as f:
                f.write(data)
            written += len(data.encode("utf-8"))
        copy += 1
    print(f"{out}: {copy} copies of {len(bundles)} bundles, {written / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
