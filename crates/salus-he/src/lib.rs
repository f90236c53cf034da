//! Threshold homomorphic encryption for Salus: multiparty BFV with a collective key that
//! no single party can open, noise-flooded collective decryption, collective key switching
//! to a researcher's own key, and encrypted inference of linear/logistic models.
//!
//! Built on the ring arithmetic of fhe.rs (`fhe-math`): the multiparty protocols of
//! Mouchet, Troncoso-Pastoriza, Bossuat and Hubaux (PETS 2021) are implemented here, with
//! the pieces fhe.rs leaves open completed: a seeded common reference string, flooding
//! sized from a 64-bit statistical security parameter, signed shares bound to the
//! ciphertext, and an integrity check slot that rejects wrong shares.
//!
//! * Parameters and the security reasoning: [`params`], [`security`].
//! * Key ceremony: [`Crs`], [`Party`], [`PublicKeyShare`], [`CollectivePublicKey`].
//! * Data: [`encrypt_i64s`], [`encrypt_fixed`], [`Ciphertext::add`], [`Ciphertext::sum`],
//!   [`Ciphertext::scale`].
//! * Opening: [`Party::decryption_share`] + [`combine_decryption`] (everyone learns the
//!   result), or [`Party::key_switch_share`] + [`combine_key_switch`] +
//!   [`ResearcherKey::decrypt_i64s`] (only the researcher learns it).
//! * Encrypted inference: [`inference`].
//!
//! Threat model: parties and hub are honest-but-curious; all N parties are needed to
//! decrypt (N-of-N). See `docs` in [`params`] for what flooding hides and
//! [`Ciphertext`] for what the integrity check detects.
//!
//! # Example
//!
//! ```
//! use rand::SeedableRng;
//! use salus_he::*;
//!
//! # fn main() -> Result<(), HeError> {
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let params = Params::standard();
//! let crs = Crs::derive(&params, b"study-42/ceremony-1")?;
//!
//! // Key ceremony: every node makes a share, the hub combines, every node confirms.
//! let mut nodes: Vec<Party> = (1..=3)
//!     .map(|id| Party::new(id, &params, &crs, &mut rng))
//!     .collect::<Result<_, _>>()?;
//! let shares: Vec<PublicKeyShare> = nodes.iter().map(|n| n.public_key_share()).collect();
//! let cpk = CollectivePublicKey::combine(&shares)?;
//! for node in &mut nodes {
//!     node.confirm_collective_key(&cpk)?;
//! }
//!
//! // Nodes encrypt their counts; the hub adds the ciphertexts.
//! let cts: Vec<Ciphertext> = [[5, -1], [7, 2], [1, 0]]
//!     .iter()
//!     .map(|v| encrypt_i64s(&cpk, v, &mut rng))
//!     .collect::<Result<_, _>>()?;
//! let total = Ciphertext::sum(&cts)?;
//!
//! // Only the researcher can read the total: the nodes re-encrypt it to her key.
//! let researcher = ResearcherKey::generate(&params, &mut rng)?;
//! let ks: Vec<KeySwitchShare> = nodes
//!     .iter()
//!     .map(|n| n.key_switch_share(&total, researcher.public_key(), &mut rng))
//!     .collect::<Result<_, _>>()?;
//! let for_researcher = combine_key_switch(&cpk, &total, &ks)?;
//! assert_eq!(researcher.decrypt_i64s(&for_researcher)?, vec![13, 1]);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ciphertext;
#[cfg(test)]
mod crosscheck;
mod crs;
mod decrypt;
mod encoding;
mod error;
pub mod inference;
mod keys;
mod keyswitch;
pub mod model;
pub mod params;
mod ring;
pub mod security;
pub mod wire;

pub use ciphertext::{Ciphertext, EncryptionKey, encrypt_fixed, encrypt_i64s};
pub use crs::Crs;
pub use decrypt::{Decrypted, DecryptionShare, combine_decryption};
pub use encoding::{FixedPoint, LIMB_BITS, MAX_INT_ABS, MAX_WEIGHT, Payload};
pub use error::{HeError, Result};
pub use keys::{CollectivePublicKey, KeyId, Party, PartyId, PublicKeyShare, RosterEntry};
pub use keyswitch::{KeySwitchShare, ResearcherKey, ResearcherPublicKey, combine_key_switch};
pub use params::{ParamSet, Params};

/// Re-exported so callers can pass their node identity key to [`Party::with_identity`].
pub use ed25519_dalek::SigningKey;
