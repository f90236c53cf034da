//! The common reference string (CRS) of a key ceremony.
//!
//! fhe.rs leaves its CRS as "just a random polynomial"; here it is expanded with ChaCha20
//! from a public 32-byte seed, so every party derives the same uniform polynomial `a`
//! without trusting whoever distributes it, and the seed (not 190 kB) is what travels.

use fhe_math::rq::Poly;

use crate::error::Result;
use crate::params::Params;
use crate::ring::uniform_from_seed;
use crate::wire::{BlobKind, Reader, Writer, digest, hex32, serde_as_blob};

/// The common reference string: a public 32-byte seed, expanded into the uniform
/// polynomial `a` with ChaCha20. Every party must use the same one.
///
/// The seed must not be chosen by a single party after seeing others' shares; derive it
/// from the study identifier (and, ideally, a public random beacon) with [`Crs::derive`].
#[derive(Clone)]
pub struct Crs {
    pub(crate) params: Params,
    pub(crate) seed: [u8; 32],
    a: Poly,
}

impl std::fmt::Debug for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crs({})", hex32(&self.seed))
    }
}

impl Crs {
    /// The CRS for an explicit public seed.
    pub fn from_seed(params: &Params, seed: [u8; 32]) -> Result<Self> {
        let expanded = digest("salus-he/crs/v1", &[&[params.set().id()], &seed]);
        Ok(Self {
            params: params.clone(),
            seed,
            a: uniform_from_seed(params, expanded)?,
        })
    }

    /// The CRS derived from a public label (for example the study id and ceremony number).
    pub fn derive(params: &Params, label: &[u8]) -> Result<Self> {
        Self::from_seed(params, digest("salus-he/crs-seed/v1", &[label]))
    }

    /// The public seed.
    pub fn seed(&self) -> [u8; 32] {
        self.seed
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Versioned bytes (header + seed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_header(BlobKind::Crs, &self.params);
        w.put_raw(&self.seed);
        w.into_bytes()
    }

    /// Parses [`Crs::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (mut r, params) = Reader::open(bytes, BlobKind::Crs)?;
        let seed = r.get_array()?;
        r.finish()?;
        Self::from_seed(&params, seed)
    }

    pub(crate) fn a(&self) -> &Poly {
        &self.a
    }
}

serde_as_blob!(Crs);
