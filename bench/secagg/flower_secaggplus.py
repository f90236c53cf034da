"""One in-process SecAgg+ round with Flower's own protocol code (flwr from PyPI).

The client side calls Flower's stage functions from
``flwr.client.mod.secure_aggregation.secaggplus_mod`` (``_setup``, ``_share_keys``,
``_collect_masked_vectors``, ``_unmask``) on a ``SecAggPlusState`` per client, exactly as the
``secaggplus_mod`` does. The server side repeats, step for step, what
``flwr.server.workflow.secure_aggregation.secaggplus_workflow.SecAggPlusWorkflow`` does between
its ``grid.send_and_receive`` calls (neighbour ring over a shuffled id list, forwarding of
ciphertexts, summing masked vectors mod 2^32, Shamir recombination with Flower's
``combine_shares``, mask removal with Flower's ``pseudo_rand_gen``, dequantisation). Only the
gRPC transport is left out, as in `salus bench secagg`, which also runs in one process.

Prints one JSON object: clients, dim, dropped, seconds, server_seconds, client_seconds_mean,
bytes_per_client (payload bytes the client hands to Flower: keys, ciphertexts, masked arrays,
shares; no protobuf framing), correct.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import time

import numpy as np
from flwr.common import bytes_to_ndarray, ndarrays_to_parameters
from flwr.common.secure_aggregation.crypto.shamir import combine_shares
from flwr.common.secure_aggregation.ndarrays_arithmetic import (
    factor_extract,
    get_parameters_shape,
    parameters_addition,
    parameters_mod,
    parameters_subtraction,
)
from flwr.common.secure_aggregation.quantization import dequantize
from flwr.common.secure_aggregation.secaggplus_constants import Key
from flwr.common.secure_aggregation.secaggplus_utils import pseudo_rand_gen
from flwr.supercore.primitives.asymmetric import bytes_to_private_key, bytes_to_public_key
from flwr.common.secure_aggregation.crypto.symmetric_encryption import generate_shared_key

# The package re-exports a function named like the module, so load the module itself.
client = importlib.import_module("flwr.client.mod.secure_aggregation.secaggplus_mod")

CLIP = 8.0
QUANT = 1 << 22
MOD = 1 << 32
MAX_WEIGHT = 1000.0


def payload_size(value) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(payload_size(v) for v in value)
    if isinstance(value, dict):
        return sum(payload_size(v) for v in value.values())
    if isinstance(value, int):
        return 8
    return 0


def run(clients: int, dim: int, dropout: float, num_shares: int, threshold: int, seed: int) -> dict:
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    nids = [rng.getrandbits(63) for _ in range(clients)]
    inputs = {nid: np_rng.uniform(-1.0, 1.0, size=dim).astype(np.float32) for nid in nids}
    n_drop = round(clients * dropout)
    dropped = set(nids[i * clients // n_drop] for i in range(n_drop)) if n_drop else set()
    client_time = {nid: 0.0 for nid in nids}
    client_bytes = {nid: 0 for nid in nids}
    server_time = 0.0
    start = time.perf_counter()

    def on_client(nid, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        client_time[nid] += time.perf_counter() - t0
        client_bytes[nid] += payload_size(out)
        return out

    # Stage 0: setup.
    t0 = time.perf_counter()
    states = {nid: client.SecAggPlusState(nid=nid) for nid in nids}
    setup_cfg = {
        Key.SAMPLE_NUMBER: clients,
        Key.SHARE_NUMBER: num_shares,
        Key.THRESHOLD: threshold,
        Key.CLIPPING_RANGE: CLIP,
        Key.TARGET_RANGE: QUANT,
        Key.MOD_RANGE: MOD,
        Key.MAX_WEIGHT: MAX_WEIGHT,
    }
    order = list(nids)
    rng.shuffle(order)
    half = num_shares >> 1
    neighbours = {
        nid: {order[(i + off) % clients] for off in range(-half, half + 1)} for i, nid in enumerate(order)
    }
    server_time += time.perf_counter() - t0
    public_keys = {}
    for nid in nids:
        out = on_client(nid, client._setup, states[nid], setup_cfg)
        public_keys[nid] = [out[Key.PUBLIC_KEY_1], out[Key.PUBLIC_KEY_2]]

    # Stage 1: share keys.
    fwd_ct = {nid: [] for nid in nids}
    fwd_src = {nid: [] for nid in nids}
    for nid in nids:
        cfg = {str(n): public_keys[n] for n in neighbours[nid]}
        out = on_client(nid, client._share_keys, states[nid], cfg)
        t0 = time.perf_counter()
        for dst, ct in zip(out[Key.DESTINATION_LIST], out[Key.CIPHERTEXT_LIST]):
            fwd_ct[dst].append(ct)
            fwd_src[dst].append(nid)
        server_time += time.perf_counter() - t0

    # Stage 2: masked vectors (dropped clients never answer).
    active = [nid for nid in nids if nid not in dropped]
    masked = None
    for nid in active:
        cfg = {Key.CIPHERTEXT_LIST: fwd_ct[nid], Key.SOURCE_LIST: fwd_src[nid]}
        params = ndarrays_to_parameters([inputs[nid]])
        out = on_client(nid, client._collect_masked_vectors, states[nid], cfg, 1, params)
        t0 = time.perf_counter()
        vec = [bytes_to_ndarray(b) for b in out[Key.MASKED_PARAMETERS]]
        masked = vec if masked is None else parameters_addition(masked, vec)
        server_time += time.perf_counter() - t0
    t0 = time.perf_counter()
    masked = parameters_mod(masked, MOD)
    server_time += time.perf_counter() - t0

    # Stage 3: unmask.
    active_set, dead_set = set(active), dropped
    collected = {nid: [] for nid in nids}
    for nid in active:
        cfg = {
            Key.ACTIVE_NODE_ID_LIST: list(neighbours[nid] & active_set),
            Key.DEAD_NODE_ID_LIST: list(neighbours[nid] & dead_set),
        }
        out = on_client(nid, client._unmask, states[nid], cfg)
        t0 = time.perf_counter()
        for owner, share in zip(out[Key.NODE_ID_LIST], out[Key.SHARE_LIST]):
            collected[owner].append(share)
        server_time += time.perf_counter() - t0
    t0 = time.perf_counter()
    shape = get_parameters_shape(masked)
    for nid, shares in collected.items():
        if len(shares) < threshold:
            raise RuntimeError("not enough shares")
        secret = combine_shares(shares)
        if nid in active_set:
            masked = parameters_subtraction(masked, pseudo_rand_gen(secret, MOD, shape))
        else:
            for other in neighbours[nid] - {nid}:
                key = generate_shared_key(bytes_to_private_key(secret), bytes_to_public_key(public_keys[other][0]))
                mask = pseudo_rand_gen(key, MOD, shape)
                masked = parameters_addition(masked, mask) if nid > other else parameters_subtraction(masked, mask)
    recon = parameters_mod(masked, MOD)
    q_total, recon = factor_extract(recon)
    aggregated = dequantize(recon, CLIP, QUANT)
    offset = -(len(active) - 1) * CLIP
    inv = QUANT / q_total
    result = [(v + offset) * inv for v in aggregated]
    server_time += time.perf_counter() - t0
    seconds = time.perf_counter() - start

    # Flower's round yields the weighted average; with weight 1 each it is sum / survivors.
    expected = sum(inputs[nid].astype(np.float64) for nid in active) / len(active)
    error = float(np.max(np.abs(result[0] - expected)))
    return {
        "clients": clients,
        "dim": dim,
        "dropped": len(dropped),
        "seconds": seconds,
        "server_seconds": server_time,
        "client_seconds_mean": sum(client_time.values()) / clients,
        "bytes_per_client": sum(client_bytes.values()) / clients,
        "max_abs_error": error,
        # Flower scales each update by weight / max_weight before quantising to 2^22 levels
        # over [-8, 8], so its own precision is about (16 / 2^22) * max_weight.
        "correct": error < 2 * CLIP / QUANT * MAX_WEIGHT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--dim", type=int, default=100_000)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--num-shares", type=int, required=True, help="shares per client incl. itself (degree + 1)")
    parser.add_argument("--threshold", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.clients, args.dim, args.dropout, args.num_shares, args.threshold, args.seed)))


if __name__ == "__main__":
    main()
