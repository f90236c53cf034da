"""Runs Salus and its peers on the same workload and prints the timings and ratios.

Aggregation: N parties, collective key generation, N encryptions of SLOTS integers, the
encrypted sum, collective (threshold) decryption. Salus: `salus bench he --json`
(BFV n = 8192, log2 q = 186, 64-bit noise flooding). OpenFHE: threshold BFVrns with
NOISE_FLOODING_MULTIPARTY, HEStd_128_classic, plaintext modulus 786433 (OpenFHE then
picks n = 8192, log2 q = 180: the closest configuration to Salus). With Salus's own
plaintext modulus (about 2^54) OpenFHE 1.6.1 picks n = 16384 and decrypts wrong values,
which this script also shows.

Inference: logistic regression on Breast Cancer Wisconsin (569 rows x 30 features).
Salus: `salus he infer --json` (BFV, rows packed in coefficients, one plaintext product
per 273 rows). TenSEAL: CKKS n = 8192, one ciphertext per feature column (all rows in the
slots), 30 plaintext-scalar products, the form that needs no rotations.
"""

import argparse
import json
import math
import statistics
import subprocess
import time

import numpy as np


def salus_aggregation(binary, parties, slots, repeats):
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [binary, "bench", "he", "--parties", str(parties), "--slots", str(slots), "--json"],
            check=True, capture_output=True, text=True,
        ).stdout
        runs.append(json.loads(out))
    return runs


def openfhe_aggregation(parties, slots, plaintext_modulus, repeats):
    import openfhe as o

    runs = []
    for _ in range(repeats):
        rng = np.random.default_rng()
        bound = min(1 << 20, plaintext_modulus // (2 * parties) - 1)
        inputs = [rng.integers(-bound, bound, slots).tolist() for _ in range(parties)]

        start = time.perf_counter()
        params = o.CCParamsBFVRNS()
        params.SetPlaintextModulus(plaintext_modulus)
        params.SetMultiplicativeDepth(0)
        params.SetSecurityLevel(o.SecurityLevel.HEStd_128_classic)
        params.SetMultipartyMode(o.MultipartyMode.NOISE_FLOODING_MULTIPARTY)
        cc = o.GenCryptoContext(params)
        for feature in (o.PKESchemeFeature.PKE, o.PKESchemeFeature.KEYSWITCH,
                        o.PKESchemeFeature.LEVELEDSHE, o.PKESchemeFeature.MULTIPARTY):
            cc.Enable(feature)
        setup_seconds = time.perf_counter() - start

        start = time.perf_counter()
        keys = [cc.KeyGen()]
        for _ in range(parties - 1):
            keys.append(cc.MultipartyKeyGen(keys[-1].publicKey))
        keygen_seconds = time.perf_counter() - start
        joint = keys[-1].publicKey

        start = time.perf_counter()
        cts = [cc.Encrypt(joint, cc.MakePackedPlaintext(v)) for v in inputs]
        encrypt_mean = (time.perf_counter() - start) / parties

        start = time.perf_counter()
        total = cts[0]
        for ct in cts[1:]:
            total = cc.EvalAdd(total, ct)
        add_seconds = time.perf_counter() - start

        start = time.perf_counter()
        partial = [cc.MultipartyDecryptLead([total], keys[0].secretKey)[0]]
        for k in keys[1:]:
            partial.append(cc.MultipartyDecryptMain([total], k.secretKey)[0])
        result = cc.MultipartyDecryptFusion(partial)
        decrypt_seconds = time.perf_counter() - start

        result.SetLength(slots)
        expected = [sum(v[i] for v in inputs) for i in range(slots)]
        runs.append({
            "ring_dimension": cc.GetRingDimension(),
            "log2_q": round(math.log2(float(cc.GetModulus())), 1),
            "context_seconds": setup_seconds,
            "keygen_seconds": keygen_seconds,
            "encrypt_seconds_mean": encrypt_mean,
            "add_seconds": add_seconds,
            "decrypt_seconds": decrypt_seconds,
            "ciphertext_bytes": len(o.Serialize(cts[0], o.BINARY)),
            "correct": list(result.GetPackedValue()) == expected,
        })
    return runs


def load_csv(path):
    rows, labels = [], []
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    for line in lines[1:]:
        values = [float(x) for x in line.split(",")]
        rows.append(values[:-1])
        labels.append(values[-1] == 1.0)
    return np.array(rows), labels


def tenseal_inference(data, model_path, repeats):
    import tenseal as ts

    model = json.load(open(model_path))
    x, _ = load_csv(data)
    z = (x - np.array(model["means"])) / np.array(model["scales"])
    w, b = model["weights"], model["intercept"]
    plain = z @ np.array(w) + b
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=8192, coeff_mod_bit_sizes=[60, 40, 40, 60])
        ctx.global_scale = 2 ** 40
        keygen = time.perf_counter() - start

        start = time.perf_counter()
        columns = [ts.ckks_vector(ctx, z[:, j].tolist()) for j in range(z.shape[1])]
        encrypt = time.perf_counter() - start

        start = time.perf_counter()
        score = columns[0] * w[0]
        for j in range(1, len(columns)):
            score += columns[j] * w[j]
        score += b
        score_seconds = time.perf_counter() - start

        start = time.perf_counter()
        out = np.array(score.decrypt())
        decrypt = time.perf_counter() - start

        runs.append({
            "keygen_seconds": keygen,
            "encrypt_seconds": encrypt,
            "score_seconds": score_seconds,
            "decrypt_seconds": decrypt,
            "same_class": int(np.sum((out > 0) == (plain > 0))),
            "max_abs_score_difference": float(np.max(np.abs(out - plain))),
            "features_ciphertext_bytes": sum(len(c.serialize()) for c in columns),
        })
    return runs


def salus_inference(binary, data, model, repeats):
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [binary, "he", "infer", "--data", data, "--model", model, "--json"],
            check=True, capture_output=True, text=True,
        ).stdout
        runs.append(json.loads(out))
    return runs


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--salus", required=True)
    ap.add_argument("--parties", type=int, default=3)
    ap.add_argument("--slots", type=int, default=4096)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()

    print(f"== threshold aggregation: {a.parties} parties, {a.slots} slots, median of {a.repeats} runs ==")
    salus = salus_aggregation(a.salus, a.parties, a.slots, a.repeats)
    peer = openfhe_aggregation(a.parties, a.slots, 786433, a.repeats)
    big_t = openfhe_aggregation(a.parties, min(a.slots, 64), 18014398508400641, 1)[0]
    keys = ["keygen_seconds", "encrypt_seconds_mean", "add_seconds", "decrypt_seconds"]
    print(f"{'step':<22}{'Salus':>12}{'OpenFHE':>12}{'Salus/OpenFHE':>15}")
    for k in keys:
        s, o = median(salus, k), median(peer, k)
        print(f"{k:<22}{s:>12.5f}{o:>12.5f}{s / o:>15.2f}")
    s_total = sum(median(salus, k) for k in keys)
    o_total = sum(median(peer, k) for k in keys)
    print(f"{'workflow total':<22}{s_total:>12.5f}{o_total:>12.5f}{s_total / o_total:>15.2f}")
    print(f"{'ciphertext_bytes':<22}{salus[0]['ciphertext_bytes']:>12}{peer[0]['ciphertext_bytes']:>12}"
          f"{salus[0]['ciphertext_bytes'] / peer[0]['ciphertext_bytes']:>15.2f}")
    print(f"correct: Salus {all(r['correct'] for r in salus)}, OpenFHE {all(r['correct'] for r in peer)}")
    print(f"OpenFHE parameters: n = {peer[0]['ring_dimension']}, log2 q = {peer[0]['log2_q']}, "
          f"t = 786433; context creation {median(peer, 'context_seconds'):.3f} s (not counted)")
    print(f"OpenFHE with Salus's t = 18014398508400641: n = {big_t['ring_dimension']}, "
          f"log2 q = {big_t['log2_q']}, correct = {big_t['correct']}")

    print(f"\n== encrypted inference: breast cancer, median of {a.repeats} runs ==")
    si = salus_inference(a.salus, a.data, a.model, a.repeats)
    ti = tenseal_inference(a.data, a.model, a.repeats)
    keys = ["keygen_seconds", "encrypt_seconds", "score_seconds", "decrypt_seconds"]
    print(f"{'step':<22}{'Salus':>12}{'TenSEAL':>12}{'Salus/TenSEAL':>15}")
    for k in keys:
        s, o = median(si, k), median(ti, k)
        print(f"{k:<22}{s:>12.5f}{o:>12.5f}{s / o:>15.2f}")
    s_total = sum(median(si, k) for k in keys)
    t_total = sum(median(ti, k) for k in keys)
    print(f"{'total':<22}{s_total:>12.5f}{t_total:>12.5f}{s_total / t_total:>15.2f}")
    print(f"same class as plaintext: Salus {si[0]['same_class']}/{si[0]['rows']}, TenSEAL {ti[0]['same_class']}/{si[0]['rows']}")
    print(f"max |score difference|: Salus {max(r['max_abs_score_difference'] for r in si):.2e} "
          f"(bound {si[0]['max_error_bound']:.2e}), TenSEAL {max(r['max_abs_score_difference'] for r in ti):.2e}")
    print(f"feature ciphertext bytes: Salus {si[0]['features_ciphertext_bytes']}, TenSEAL {ti[0]['features_ciphertext_bytes']}")


if __name__ == "__main__":
    main()
