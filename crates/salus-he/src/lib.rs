//! Threshold homomorphic encryption (multiparty BFV): collective keys, encrypted sums, noise-flooded collective decryption and key switching, encrypted inference.
