//! The one error type of `salus-secagg`. Messages name the node, phase or quantity involved
//! and what to do; they never contain input values.

use crate::config::NodeId;

/// Everything that can go wrong in configuring, encoding or running a round.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SecaggError {
    /// The round configuration is inconsistent.
    #[error("invalid secure-aggregation round configuration: {0}")]
    InvalidConfig(String),
    /// A value is outside the declared range of its quantity (never clipped).
    #[error(
        "value {index} of quantity '{quantity}' is outside its declared range {range}; \
         fix the input or declare a wider range for this quantity (values are never clipped)"
    )]
    OutOfRange {
        /// The quantity's name.
        quantity: String,
        /// Position of the offending value inside the quantity.
        index: usize,
        /// The declared range, as text.
        range: String,
    },
    /// The encoding cannot guarantee that the sum fits the ring.
    #[error("encoding of '{quantity}' could overflow: {reason}")]
    Overflow {
        /// The quantity (or "wide encoding").
        quantity: String,
        /// Why.
        reason: String,
    },
    /// A vector has the wrong length.
    #[error("{what} has {got} values but the round expects {expected}")]
    WrongLength {
        /// Which vector.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The expected length.
        expected: usize,
    },
    /// A message belongs to another round or study (replay or misrouting).
    #[error("message for another round rejected (replayed or misrouted); it is ignored")]
    WrongSession,
    /// A message claims a sender that is not the authenticated peer, or an unknown node.
    #[error("message from node {claimed} rejected: {reason}")]
    WrongSender {
        /// The claimed sender.
        claimed: NodeId,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A signature did not verify: the message was tampered with or signed by the wrong key.
    #[error(
        "signature of {what} from node {node} is invalid: the message was altered or signed with another key"
    )]
    BadSignature {
        /// Which message.
        what: &'static str,
        /// The claimed signer.
        node: NodeId,
    },
    /// An encrypted share failed authentication.
    #[error(
        "encrypted share from node {from} to node {to} failed authentication (tampered, replayed or wrong key)"
    )]
    BadCiphertext {
        /// The sender.
        from: NodeId,
        /// The recipient.
        to: NodeId,
    },
    /// A message arrived in the wrong phase (late, early or duplicated).
    #[error("{what} from node {node} is not expected now (phase: {phase}); it is ignored")]
    UnexpectedMessage {
        /// Which message.
        what: &'static str,
        /// The sender or recipient.
        node: NodeId,
        /// The current phase.
        phase: &'static str,
    },
    /// A message is structurally invalid.
    #[error("malformed {what} from node {node}: {reason}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// The sender (or recipient).
        node: NodeId,
        /// Why.
        reason: String,
    },
    /// Too few participants are left to continue safely; nothing is revealed.
    #[error(
        "round failed in phase '{phase}': {got} participants responded but at least {needed} \
         are required; nothing was revealed"
    )]
    RoundFailed {
        /// The phase that could not complete.
        phase: &'static str,
        /// How many responded.
        got: usize,
        /// How many were needed.
        needed: usize,
    },
    /// Secret reconstruction failed (inconsistent or too few shares).
    #[error("could not reconstruct the secrets of node {node}: {reason}")]
    Reconstruction {
        /// Whose secret.
        node: NodeId,
        /// Why.
        reason: &'static str,
    },
    /// Differential-privacy noise could not be planned or sampled.
    #[error("differential-privacy noise: {0}")]
    Noise(#[from] salus_dp::DpError),
}
