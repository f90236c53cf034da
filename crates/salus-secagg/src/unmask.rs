//! The hub's last step: reconstruct each survivor's self-mask scalar b and each dropped
//! node's mask key from the revealed shares, check them against what the node committed to
//! in its advertisement, and expand the masks to remove from the sum.
//!
//! The sum of masked inputs is sum_i x_i + sum_i PRG(b_i) + sum over masking pairs (i, j)
//! with i surviving and j dropped of sign(i, j) PRG(s_ij) (pairs of survivors cancel). The
//! expansions run in parallel (rayon), one accumulator per worker.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use curve25519_dalek::Scalar;
use rayon::prelude::*;
use x25519_dalek::PublicKey;

use crate::bytes::Bytes;
use crate::config::{NodeId, RoundContext};
use crate::crypto::{self, MaskSign};
use crate::error::SecaggError;
use crate::messages::SignedAdvertisement;
use crate::shamir;

/// What the hub collected, by reference.
pub(crate) struct UnmaskInputs<'a> {
    pub context: &'a RoundContext,
    pub survivors: &'a BTreeSet<NodeId>,
    pub dropped: &'a BTreeSet<NodeId>,
    pub masked_with: &'a BTreeMap<NodeId, BTreeSet<NodeId>>,
    pub adverts: &'a BTreeMap<NodeId, SignedAdvertisement>,
    pub self_mask_shares: &'a BTreeMap<NodeId, Vec<(u32, Bytes<32>)>>,
    pub mask_key_shares: &'a BTreeMap<NodeId, Vec<(u32, Bytes<32>)>>,
}

/// Lagrange coefficients cached by holder set (in the full graph every secret is usually
/// reconstructed from the same holders, so one O(t^2) computation serves all).
#[derive(Default)]
struct Interpolator {
    cache: HashMap<Vec<u32>, Vec<Scalar>>,
}

impl Interpolator {
    /// The secret of `owner` from its first `threshold` shares (ordered by holder).
    fn secret(
        &mut self,
        owner: NodeId,
        shares: Option<&Vec<(u32, Bytes<32>)>>,
        threshold: usize,
    ) -> Result<Scalar, SecaggError> {
        let mut shares = shares.cloned().unwrap_or_default();
        shares.sort_by_key(|(x, _)| *x);
        shares.dedup_by_key(|(x, _)| *x);
        if shares.len() < threshold {
            return Err(SecaggError::Reconstruction {
                node: owner,
                reason: "fewer shares than the threshold were revealed",
            });
        }
        shares.truncate(threshold);
        let xs: Vec<u32> = shares.iter().map(|(x, _)| *x).collect();
        let lambdas = self
            .cache
            .entry(xs.clone())
            .or_insert_with(|| shamir::lagrange_at_zero(&xs));
        let mut secret = Scalar::ZERO;
        for ((_, share), lambda) in shares.iter().zip(lambdas.iter()) {
            let value: Option<Scalar> = Scalar::from_canonical_bytes(share.0).into();
            let value = value.ok_or(SecaggError::Reconstruction {
                node: owner,
                reason: "a revealed share is not a field element",
            })?;
            secret += value * lambda;
        }
        Ok(secret)
    }
}

/// One mask to expand: its seed and the sign with which to ADD it to the total mask.
type MaskJob = ([u8; 32], MaskSign);

/// The total mask to subtract from the sum of masked inputs.
pub(crate) fn remove_masks(inputs: &UnmaskInputs<'_>) -> Result<Vec<u64>, SecaggError> {
    let jobs = mask_jobs(inputs)?;
    let dimension = inputs.context.config().dimension;
    let total = jobs
        .par_iter()
        .fold(
            || vec![0u64; dimension],
            |mut acc, (seed, sign)| {
                crypto::apply_mask(&mut acc, seed, *sign);
                acc
            },
        )
        .reduce(
            || vec![0u64; dimension],
            |mut a, b| {
                a.iter_mut()
                    .zip(b)
                    .for_each(|(x, y)| *x = x.wrapping_add(y));
                a
            },
        );
    Ok(total)
}

/// Reconstructs every needed secret and lists the masks it implies.
fn mask_jobs(inputs: &UnmaskInputs<'_>) -> Result<Vec<MaskJob>, SecaggError> {
    let session = inputs.context.session();
    let threshold = inputs.context.share_threshold();
    let mut interpolator = Interpolator::default();
    let mut jobs = Vec::new();
    for &owner in inputs.survivors {
        let b = interpolator.secret(owner, inputs.self_mask_shares.get(&owner), threshold)?;
        let advert = inputs
            .adverts
            .get(&owner)
            .ok_or(SecaggError::Reconstruction {
                node: owner,
                reason: "no advertisement",
            })?;
        if crypto::self_mask_commitment(&b, &session, owner) != advert.keys.self_mask_commitment.0 {
            return Err(SecaggError::Reconstruction {
                node: owner,
                reason: "the revealed shares do not match the node's self-mask commitment (a share was altered)",
            });
        }
        jobs.push((crypto::self_mask_seed(&b, &session, owner), MaskSign::Add));
    }
    let mut pair_jobs = Vec::new();
    for &dropped in inputs.dropped {
        let key = interpolator.secret(dropped, inputs.mask_key_shares.get(&dropped), threshold)?;
        let secret = crypto::x25519_from_scalar(&key);
        let advert = inputs
            .adverts
            .get(&dropped)
            .ok_or(SecaggError::Reconstruction {
                node: dropped,
                reason: "no advertisement",
            })?;
        if PublicKey::from(&secret).to_bytes() != advert.keys.mask_public.0 {
            return Err(SecaggError::Reconstruction {
                node: dropped,
                reason: "the revealed shares do not match the node's advertised mask key (a share was altered)",
            });
        }
        // Every survivor that masked with the dropped node added sign(survivor, dropped) * PRG.
        for &survivor in inputs.survivors {
            if inputs
                .masked_with
                .get(&survivor)
                .is_some_and(|set| set.contains(&dropped))
            {
                let public = inputs.adverts.get(&survivor).map(|a| a.keys.mask_public.0);
                pair_jobs.push((secret.clone(), public, survivor, dropped));
            }
        }
    }
    let seeds: Vec<Option<MaskJob>> = pair_jobs
        .par_iter()
        .map(|(secret, public, survivor, dropped)| {
            let seed = crypto::mask_seed(secret, public.as_ref()?, &session, *dropped, *survivor)?;
            Some((seed, MaskSign::pairwise(*survivor, *dropped)))
        })
        .collect();
    for (job, (_, _, survivor, dropped)) in seeds.into_iter().zip(&pair_jobs) {
        let job = job.ok_or(SecaggError::Reconstruction {
            node: *dropped,
            reason: if inputs.adverts.contains_key(survivor) {
                "invalid mask key agreement"
            } else {
                "no advertisement"
            },
        })?;
        jobs.push(job);
    }
    Ok(jobs)
}
