//! Secure aggregation for Salus: the hub learns the sum of the nodes' vectors and nothing
//! else, even when nodes drop out. Bonawitz et al. (CCS 2017) with the sparse SecAgg+ graph
//! of Bell et al. (CCS 2020) as an option, written as sans-I/O state machines.
//!
//! - [`RoundConfig`]: participants with their enrolled Ed25519 identity keys, threshold,
//!   [`Graph`] (full or sparse), vector length, phase timeout, optional DP noise plan.
//! - [`NodeSession`]: `start()` -> key advertisement; `handle(&hub_message)` -> next message.
//! - [`HubSession`]: `receive(from, message)`, `tick(now_ms)`, `poll_outgoing(node)`,
//!   `result()`.
//! - [`FixedPointEncoder`] (declared ranges, overflow impossible by construction) and
//!   [`WideEncoder`] (two limbs for values of unknown scale) map statistics into Z_2^64.
//! - [`simulation::simulate`]: a deterministic in-memory hub + N nodes with dropouts.
//!
//! Four rounds: (0) each node advertises two X25519 keys, signed with its identity key;
//! (1) each node Shamir-shares its self-mask scalar and its mask key among its neighbours,
//! encrypted node-to-node (ChaCha20-Poly1305, key from X25519, bound to the round and both
//! ids) and relayed by the hub; (2) each node sends x + PRG(b) + sum of +-PRG(pairwise
//! seeds); (3) for each neighbour, a node reveals the share of b (if it survived) or of the
//! mask key (if it dropped), and the hub removes the masks. Fewer than `threshold` inputs:
//! the round fails and nothing is revealed. All messages are bound to a session id (a hash
//! of the whole configuration, including the round id) and signed, so replays across rounds
//! and tampering are rejected.
//!
//! # What each party learns, and the limits
//! - **Hub** (honest-but-curious, the Salus threat model): masked vectors (uniformly random
//!   in Z_2^64 on their own), ciphertexts it cannot open, the shares needed to unmask, and
//!   the sum of the surviving inputs (plus the DP noise when the round has a noise plan).
//! - **Nodes**: nothing about other inputs. A coalition of the hub and fewer than `threshold`
//!   nodes (full graph) learns nothing beyond the sum, because a node reveals for any peer
//!   either the self-mask share (peer survived) or the mask-key share (peer dropped), never
//!   both, and refuses to unmask when fewer than `threshold` inputs survive.
//! - **Not covered**: a hub that actively lies (sends different survivor lists to
//!   different nodes). Bonawitz et al.'s extra consistency round for that case is not
//!   implemented; the hub is trusted to follow the protocol. A node that reveals a false
//!   share is detected (the reconstructed secrets are checked against the key and the
//!   SHA-256 commitment in its signed advertisement) and the round fails instead of
//!   releasing a wrong sum.
//! - **Sparse graph**: derived from the session id (a random circulant k-regular graph over
//!   a shuffled order, as in Flower's SecAgg+); its security analysis (Bell et al. 2020)
//!   assumes the graph is not chosen by the adversary, i.e. again an honest hub.
//!
//! ```
//! use rand::SeedableRng;
//! use salus_secagg::{FixedPointEncoder, Graph, HubSession, NodeId, NodeSession, Participant, Quantity, RoundConfig, RoundId};
//!
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let keys: Vec<ed25519_dalek::SigningKey> = (0..3).map(|i| ed25519_dalek::SigningKey::from_bytes(&[i + 1; 32])).collect();
//! let config = RoundConfig {
//!     round_id: RoundId::derive("study-42", b"round-1"),
//!     participants: keys.iter().enumerate().map(|(i, k)| Participant::new(NodeId(i as u32 + 1), &k.verifying_key())).collect(),
//!     threshold: 2,
//!     graph: Graph::Full,
//!     dimension: 2,
//!     phase_timeout_ms: 30_000,
//!     noise: None,
//! };
//! // Each site encodes its counts; a value outside its declared range is an error.
//! let encoder = FixedPointEncoder::new(vec![Quantity::counts("patients", 2, 1_000_000)], 3)?;
//! let site_counts = [[10.0, 3.0], [20.0, 4.0], [30.0, 5.0]];
//!
//! let mut hub = HubSession::new(config.clone(), 0)?;
//! let mut nodes = Vec::new();
//! for (i, key) in keys.into_iter().enumerate() {
//!     let input = encoder.encode(&site_counts[i])?;
//!     nodes.push(NodeSession::new(config.clone(), NodeId(i as u32 + 1), key, input, &mut rng)?);
//! }
//! // Node 3 disappears after advertising its keys.
//! let mut outgoing: Vec<_> = nodes.iter_mut().map(|n| n.start()).collect::<Result<_, _>>()?;
//! for step in 1..=4 {
//!     for message in outgoing.drain(..) {
//!         hub.receive(message.from, message)?;
//!     }
//!     if step == 2 {
//!         hub.tick(30_000); // node 3 never sent its shares: the deadline passes without it
//!     }
//!     for node in nodes.iter_mut().take(2) {
//!         for message in hub.poll_outgoing(node.id()) {
//!             outgoing.extend(node.handle(&message)?);
//!         }
//!     }
//! }
//! let output = hub.result().expect("round finished").clone()?;
//! assert_eq!(encoder.decode(&output.sum)?, vec![30.0, 7.0]); // sites 1 and 2 only
//! assert_eq!(output.dropped, vec![]); // node 3 dropped before sharing keys
//! # Ok::<(), salus_secagg::SecaggError>(())
//! ```

pub mod benchmark;
mod bytes;
mod config;
mod crypto;
mod encoding;
mod error;
mod hub;
mod messages;
mod node;
pub mod shamir;
pub mod simulation;
mod unmask;

pub use bytes::{ByteString, Bytes, RingVector};
pub use config::{Graph, NodeId, Participant, RoundConfig, RoundContext, RoundId};
pub use encoding::{FixedPointEncoder, Quantity, WideEncoder};
pub use error::SecaggError;
pub use hub::{AggregateOutput, HubPhase, HubSession};
pub use messages::{
    EncryptedShare, ForwardedShare, HubBody, HubMessage, KeyAdvertisement, NodeBody, NodeMessage,
    RevealedShare, SignedAdvertisement,
};
pub use node::{NodePhase, NodeSession};
