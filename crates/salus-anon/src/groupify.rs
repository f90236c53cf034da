//! Equivalence classes of one transformation: every cell is re-coded to the node's
//! levels and counted, through a dense slot table when the key space is small and a
//! hash table otherwise. Sensitive-value distributions per class are built on demand
//! in compressed (CSR) form.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::encode::Encoded;

/// A fast, non-cryptographic hasher for the packed `u128` keys (they are not
/// attacker-chosen in a way that matters: the worst case is a slower search).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, x: u64) {
        let h = (self.0 ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
    fn write_u128(&mut self, x: u128) {
        self.write_u64(x as u64);
        self.write_u64((x >> 64) as u64);
    }
}

pub(crate) type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

/// The equivalence classes of a transformation.
#[derive(Default)]
pub(crate) struct Classes {
    /// Packed generalized quasi-identifier codes of each class.
    pub keys: Vec<u128>,
    /// Records of the class in the research subset (all records without a subset).
    pub count: Vec<u32>,
    /// Records of the class in the whole table.
    pub pcount: Vec<u32>,
    /// Per sensitive attribute: `offsets[c]..offsets[c+1]` index `entries` (value, count).
    pub distributions: Vec<Distribution>,
}

/// Sensitive-value counts per class, compressed.
#[derive(Default)]
pub(crate) struct Distribution {
    pub offsets: Vec<u32>,
    pub entries: Vec<(u32, u32)>,
}

impl Distribution {
    /// The (value, count) pairs of class `c`, each value once.
    pub fn of(&self, c: usize) -> &[(u32, u32)] {
        &self.entries[self.offsets[c] as usize..self.offsets[c + 1] as usize]
    }
}

/// Reusable buffers (one per thread).
#[derive(Default)]
pub(crate) struct Scratch {
    slots: Vec<u32>,
    touched: Vec<usize>,
    map: KeyMap<u32>,
    cell_class: Vec<u32>,
}

// A dense slot table beats hashing only while it stays in cache (256 KiB).
const DENSE_LIMIT: u128 = 1 << 16;

/// Groups the cells of `enc` under the transformation `levels`.
pub(crate) fn groupify(
    enc: &Encoded,
    levels: &[usize],
    with_distributions: bool,
    scratch: &mut Scratch,
) -> Classes {
    let mut classes = Classes::default();
    scratch.cell_class.clear();
    let sizes: Vec<u128> = enc
        .qis
        .iter()
        .zip(levels)
        .map(|(q, &l)| q.labels[l].len() as u128)
        .collect();
    let space: u128 = sizes.iter().product();
    if space <= DENSE_LIMIT {
        group_dense(enc, levels, &sizes, space as usize, &mut classes, scratch);
    } else {
        group_hashed(enc, levels, &mut classes, scratch);
    }
    if with_distributions {
        for s in 0..enc.sensitive.len() {
            let d = build_distribution(enc, s, classes.keys.len(), &scratch.cell_class);
            classes.distributions.push(d);
        }
    }
    classes
}

#[inline]
fn generalized_key(enc: &Encoded, levels: &[usize], key: u128) -> u128 {
    let mut out = 0u128;
    for (q, qi) in enc.qis.iter().enumerate() {
        let code = qi.up[levels[q]][enc.qi_code(key, q) as usize];
        out |= u128::from(code) << qi.shift;
    }
    out
}

fn add_cell(classes: &mut Classes, class: usize, key: u128, count: u32, in_subset: bool) {
    if class == classes.keys.len() {
        classes.keys.push(key);
        classes.count.push(0);
        classes.pcount.push(0);
    }
    classes.pcount[class] += count;
    if in_subset {
        classes.count[class] += count;
    }
}

fn group_dense(
    enc: &Encoded,
    levels: &[usize],
    sizes: &[u128],
    space: usize,
    classes: &mut Classes,
    scratch: &mut Scratch,
) {
    if scratch.slots.len() < space {
        scratch.slots.resize(space, u32::MAX);
    }
    let strides: Vec<usize> = sizes
        .iter()
        .scan(1usize, |acc, &s| {
            let stride = *acc;
            *acc *= s as usize;
            Some(stride)
        })
        .collect();
    for &(key, count) in &enc.cells {
        let mut index = 0usize;
        let mut gkey = 0u128;
        for (q, qi) in enc.qis.iter().enumerate() {
            let code = qi.up[levels[q]][enc.qi_code(key, q) as usize];
            index += code as usize * strides[q];
            gkey |= u128::from(code) << qi.shift;
        }
        let slot = &mut scratch.slots[index];
        if *slot == u32::MAX {
            *slot = classes.keys.len() as u32;
            scratch.touched.push(index);
        }
        let class = *slot as usize;
        add_cell(classes, class, gkey, count, key & enc.subset_bit != 0);
        scratch.cell_class.push(class as u32);
    }
    for &i in &scratch.touched {
        scratch.slots[i] = u32::MAX;
    }
    scratch.touched.clear();
}

fn group_hashed(enc: &Encoded, levels: &[usize], classes: &mut Classes, scratch: &mut Scratch) {
    scratch.map.clear();
    for &(key, count) in &enc.cells {
        let gkey = generalized_key(enc, levels, key);
        let next = classes.keys.len() as u32;
        let class = *scratch.map.entry(gkey).or_insert(next) as usize;
        add_cell(classes, class, gkey, count, key & enc.subset_bit != 0);
        scratch.cell_class.push(class as u32);
    }
}

fn build_distribution(
    enc: &Encoded,
    s: usize,
    n_classes: usize,
    cell_class: &[u32],
) -> Distribution {
    let mut offsets = vec![0u32; n_classes + 1];
    for (&(key, _), &c) in enc.cells.iter().zip(cell_class) {
        if key & enc.subset_bit != 0 {
            offsets[c as usize + 1] += 1;
        }
    }
    for c in 0..n_classes {
        offsets[c + 1] += offsets[c];
    }
    let mut fill = offsets.clone();
    let mut entries = vec![(0u32, 0u32); offsets[n_classes] as usize];
    for (&(key, count), &c) in enc.cells.iter().zip(cell_class) {
        if key & enc.subset_bit != 0 {
            let pos = &mut fill[c as usize];
            entries[*pos as usize] = (enc.sensitive_code(key, s), count);
            *pos += 1;
        }
    }
    // Merge repeated values inside each class (cells differ in other attributes).
    let mut merged = Vec::with_capacity(entries.len());
    let mut new_offsets = Vec::with_capacity(n_classes + 1);
    new_offsets.push(0u32);
    for c in 0..n_classes {
        let slice = &mut entries[offsets[c] as usize..offsets[c + 1] as usize];
        slice.sort_unstable_by_key(|e| e.0);
        let start = merged.len();
        for &(value, count) in slice.iter() {
            let len = merged.len();
            match merged.last_mut() {
                Some((v, n)) if len > start && *v == value => *n += count,
                _ => merged.push((value, count)),
            }
        }
        new_offsets.push(merged.len() as u32);
    }
    Distribution {
        offsets: new_offsets,
        entries: merged,
    }
}
