//! Dictionary encoding of the input: every quasi-identifier value becomes a dense code
//! per hierarchy level, every sensitive value a dense code, and identical records
//! collapse into weighted *cells* packed into one `u128` key. A lattice node is then
//! evaluated by re-coding the cells (a table lookup per attribute) and counting keys.

use std::collections::HashMap;

use salus_table::Table;

use crate::hierarchy::Hierarchy;
use crate::{AnonError, Result};

/// One quasi-identifier, encoded.
pub(crate) struct EncodedQi {
    pub name: String,
    /// `labels[level][code]`: the label of a code (`None` = missing value).
    pub labels: Vec<Vec<Option<String>>>,
    /// `up[level][code0]`: the code at `level` of a level-0 code.
    pub up: Vec<Vec<u32>>,
    /// `share[level][code]`: ARX's domain share (hierarchy rows under the label / rows).
    pub share: Vec<Vec<f64>>,
    /// Number of hierarchy rows (ARX's domain size).
    pub domain_size: f64,
    /// Key bits and position of the level-0 code.
    pub bits: u32,
    pub shift: u32,
    /// Level-0 code of every input row.
    pub row_codes: Vec<u32>,
}

impl EncodedQi {
    /// Number of levels (level 0 included).
    pub fn levels(&self) -> usize {
        self.up.len()
    }
}

/// One sensitive attribute, encoded.
pub(crate) struct EncodedSensitive {
    pub name: String,
    /// Distinct values (`None` = missing).
    pub values: Vec<Option<String>>,
    pub bits: u32,
    pub shift: u32,
    /// Value distribution over the released records (research subset if any).
    pub frequencies: Vec<f64>,
    pub row_codes: Vec<u32>,
}

/// The encoded input of a search.
pub(crate) struct Encoded {
    pub qis: Vec<EncodedQi>,
    pub sensitive: Vec<EncodedSensitive>,
    /// Distinct records: key (QI codes, sensitive codes, subset bit) and multiplicity.
    pub cells: Vec<(u128, u32)>,
    /// Bit set in a cell key when its records belong to the research subset.
    pub subset_bit: u128,
    /// Records that can be released (the research subset, or all).
    pub released_rows: usize,
}

fn bits_for(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Encodes `table`. `subset` marks the research-subset rows (d-presence); without it
/// every row is released.
pub(crate) fn encode(
    table: &Table,
    qis: &[(String, Hierarchy)],
    sensitive: &[String],
    subset: Option<&[bool]>,
) -> Result<Encoded> {
    if let Some(s) = subset
        && s.len() != table.nrows()
    {
        return Err(AnonError::Config(
            "the research subset must flag every row of the table".into(),
        ));
    }
    let in_subset = |row: usize| subset.is_none_or(|s| s[row]);
    let mut shift = 0u32;
    let mut encoded_qis = Vec::with_capacity(qis.len());
    for (name, hierarchy) in qis {
        let mut qi = encode_qi(table, name, hierarchy)?;
        qi.shift = shift;
        shift += qi.bits;
        encoded_qis.push(qi);
    }
    let mut encoded_sensitive = Vec::with_capacity(sensitive.len());
    for name in sensitive {
        let mut s = encode_sensitive(table, name, &in_subset)?;
        s.shift = shift;
        shift += s.bits;
        encoded_sensitive.push(s);
    }
    if shift >= 128 {
        return Err(AnonError::TooManyQuasiIdentifiers { bits: shift + 1 });
    }
    let subset_bit = 1u128 << shift;
    let mut counts: HashMap<u128, u32> = HashMap::with_capacity(table.nrows() / 2);
    for row in 0..table.nrows() {
        let mut key = if in_subset(row) { subset_bit } else { 0 };
        for qi in &encoded_qis {
            key |= u128::from(qi.row_codes[row]) << qi.shift;
        }
        for s in &encoded_sensitive {
            key |= u128::from(s.row_codes[row]) << s.shift;
        }
        *counts.entry(key).or_insert(0) += 1;
    }
    let mut cells: Vec<(u128, u32)> = counts.into_iter().collect();
    cells.sort_unstable();
    let released_rows = (0..table.nrows()).filter(|&r| in_subset(r)).count();
    Ok(Encoded {
        qis: encoded_qis,
        sensitive: encoded_sensitive,
        cells,
        subset_bit,
        released_rows,
    })
}

fn encode_qi(table: &Table, name: &str, hierarchy: &Hierarchy) -> Result<EncodedQi> {
    let column = table.column(name)?;
    let levels = hierarchy.levels();
    if levels == 0 {
        return Err(AnonError::Hierarchy {
            column: name.into(),
            message: "it has no levels".into(),
        });
    }
    // Level-0 codes: the values present in the data, in order of appearance.
    let mut code_of: HashMap<Option<String>, u32> = HashMap::new();
    let mut values: Vec<Option<String>> = Vec::new();
    let mut row_codes = Vec::with_capacity(table.nrows());
    let (mut unknown, mut first_unknown) = (0usize, 0usize);
    for row in 0..table.nrows() {
        let value = column.display(row).map(|v| v.into_owned());
        if let Some(v) = &value
            && !hierarchy.contains(v)
        {
            if unknown == 0 {
                first_unknown = row + 1;
            }
            unknown += 1;
        }
        let next = values.len() as u32;
        let code = *code_of.entry(value.clone()).or_insert_with(|| {
            values.push(value);
            next
        });
        row_codes.push(code);
    }
    if unknown > 0 {
        return Err(AnonError::ValueNotInHierarchy {
            column: name.into(),
            count: unknown,
            first_row: first_unknown,
        });
    }
    let top_labels: Vec<&str> = {
        let mut t: Vec<&str> = hierarchy
            .rows()
            .iter()
            .map(|r| r[levels - 1].as_str())
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    // A missing value stays missing below the top and joins the top label when the top
    // level is a single label such as `*`.
    let missing_top = (top_labels.len() == 1).then(|| top_labels[0].to_string());
    let domain_size = hierarchy.domain_size() as f64;
    let mut labels = Vec::with_capacity(levels);
    let mut up = Vec::with_capacity(levels);
    let mut share = Vec::with_capacity(levels);
    for level in 0..levels {
        let frequency = hierarchy.label_frequency(level);
        let mut level_code: HashMap<Option<String>, u32> = HashMap::new();
        let mut level_labels: Vec<Option<String>> = Vec::new();
        let mut level_share = Vec::new();
        let mut map = Vec::with_capacity(values.len());
        for value in &values {
            let label: Option<String> = match value {
                Some(v) => hierarchy.generalize(v, level).map(str::to_string),
                None if level + 1 == levels => missing_top.clone(),
                None => None,
            };
            let next = level_labels.len() as u32;
            let code = *level_code.entry(label.clone()).or_insert_with(|| {
                let s = match &label {
                    Some(l) => frequency.get(l.as_str()).copied().unwrap_or(1) as f64 / domain_size,
                    None => 1.0 / domain_size,
                };
                level_share.push(s);
                level_labels.push(label);
                next
            });
            map.push(code);
        }
        labels.push(level_labels);
        up.push(map);
        share.push(level_share);
    }
    Ok(EncodedQi {
        name: name.to_string(),
        bits: bits_for(values.len()),
        shift: 0,
        labels,
        up,
        share,
        domain_size,
        row_codes,
    })
}

fn encode_sensitive(
    table: &Table,
    name: &str,
    in_subset: &dyn Fn(usize) -> bool,
) -> Result<EncodedSensitive> {
    let column = table.column(name)?;
    let mut code_of: HashMap<Option<String>, u32> = HashMap::new();
    let mut values: Vec<Option<String>> = Vec::new();
    let mut row_codes = Vec::with_capacity(table.nrows());
    for row in 0..table.nrows() {
        let value = column.display(row).map(|v| v.into_owned());
        let next = values.len() as u32;
        let code = *code_of.entry(value.clone()).or_insert_with(|| {
            values.push(value);
            next
        });
        row_codes.push(code);
    }
    let mut frequencies = vec![0.0; values.len()];
    let mut released = 0.0;
    for (row, &code) in row_codes.iter().enumerate() {
        if in_subset(row) {
            frequencies[code as usize] += 1.0;
            released += 1.0;
        }
    }
    if released > 0.0 {
        frequencies.iter_mut().for_each(|f| *f /= released);
    }
    Ok(EncodedSensitive {
        name: name.to_string(),
        bits: bits_for(values.len()),
        shift: 0,
        values,
        frequencies,
        row_codes,
    })
}

impl Encoded {
    /// The level-0 code of quasi-identifier `q` in a cell key.
    #[inline]
    pub fn qi_code(&self, key: u128, q: usize) -> u32 {
        let qi = &self.qis[q];
        ((key >> qi.shift) & ((1u128 << qi.bits) - 1)) as u32
    }

    /// The code of sensitive attribute `s` in a cell key.
    #[inline]
    pub fn sensitive_code(&self, key: u128, s: usize) -> u32 {
        let attr = &self.sensitive[s];
        ((key >> attr.shift) & ((1u128 << attr.bits) - 1)) as u32
    }

    /// Number of transformations in the lattice.
    pub fn lattice_size(&self) -> u128 {
        self.qis.iter().map(|q| q.levels() as u128).product()
    }
}
