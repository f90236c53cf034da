//! Adversarial tests: tampered, replayed, misattributed, duplicated and late messages, a hub
//! that alters what it relays, and unsafe unmasking requests. Each must be rejected with a
//! clear error (and a rejected message must change nothing).

mod common;

use curve25519_dalek::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use salus_secagg::{
    Bytes, Graph, HubBody, HubMessage, HubSession, NodeBody, NodeId, NodeMessage, NodePhase,
    NodeSession, RoundConfig, SecaggError,
};

use common::{config, identities, random_inputs, ring_sum};

struct Harness {
    config: RoundConfig,
    keys: Vec<SigningKey>,
    inputs: Vec<Vec<u64>>,
    hub: HubSession,
    nodes: Vec<NodeSession>,
}

impl Harness {
    fn new(n: usize, threshold: usize, round: &[u8]) -> Self {
        let keys = identities(n);
        let inputs = random_inputs(n, 4, 9);
        let config = config(&keys, threshold, Graph::Full, 4, round);
        let hub = HubSession::new(config.clone(), 0).expect("valid config");
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let nodes = keys
            .iter()
            .zip(&inputs)
            .enumerate()
            .map(|(i, (k, x))| {
                NodeSession::new(
                    config.clone(),
                    NodeId(i as u32 + 1),
                    k.clone(),
                    x.clone(),
                    &mut rng,
                )
            })
            .collect::<Result<_, _>>()
            .expect("valid sessions");
        Self {
            config,
            keys,
            inputs,
            hub,
            nodes,
        }
    }

    fn start(&mut self) -> Vec<NodeMessage> {
        self.nodes
            .iter_mut()
            .map(|n| n.start().expect("starts"))
            .collect()
    }

    fn deliver(&mut self, messages: Vec<NodeMessage>) {
        for message in messages {
            self.hub
                .receive(message.from, message)
                .expect("honest message accepted");
        }
    }

    /// Every node fetches its hub messages and answers.
    fn answer(&mut self) -> Vec<NodeMessage> {
        let mut out = Vec::new();
        for node in &mut self.nodes {
            for message in self.hub.poll_outgoing(node.id()) {
                out.extend(node.handle(&message).expect("honest hub message accepted"));
            }
        }
        out
    }

    /// Runs until the masked inputs are produced (not delivered).
    fn until_masked_inputs(&mut self) -> Vec<NodeMessage> {
        let adverts = self.start();
        self.deliver(adverts);
        let shares = self.answer();
        self.deliver(shares);
        self.answer()
    }
}

fn resign(message: &mut NodeMessage, key: &SigningKey) {
    let digest = message.body.digest(&message.session.0, message.from);
    message.signature = Bytes(key.sign(&digest).to_bytes());
}

#[test]
fn tampered_masked_input_is_rejected() {
    let mut h = Harness::new(3, 2, b"t1");
    let mut masked = h.until_masked_inputs();
    let mut tampered = masked.remove(0);
    if let NodeBody::MaskedInput { masked } = &mut tampered.body {
        masked.0[0] ^= 1;
    }
    let error = h
        .hub
        .receive(tampered.from, tampered)
        .expect_err("tampered");
    assert!(
        matches!(
            error,
            SecaggError::BadSignature {
                what: "masked input",
                node: NodeId(1)
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("altered"));
}

#[test]
fn message_signed_with_another_key_is_rejected() {
    let mut h = Harness::new(3, 2, b"t2");
    let mut adverts = h.start();
    let mut forged = adverts.remove(0);
    let stranger = SigningKey::from_bytes(&[99; 32]);
    resign(&mut forged, &stranger);
    let error = h.hub.receive(NodeId(1), forged).expect_err("wrong key");
    assert!(matches!(error, SecaggError::BadSignature { .. }), "{error}");
}

#[test]
fn sender_must_match_the_authenticated_peer_and_be_a_participant() {
    let mut h = Harness::new(3, 2, b"t3");
    let adverts = h.start();
    let error = h
        .hub
        .receive(NodeId(2), adverts[0].clone())
        .expect_err("claims node 1, came from node 2");
    assert!(matches!(error, SecaggError::WrongSender { .. }), "{error}");
    let mut outsider = adverts[0].clone();
    outsider.from = NodeId(77);
    let error = h
        .hub
        .receive(NodeId(77), outsider)
        .expect_err("not a participant");
    assert!(matches!(error, SecaggError::WrongSender { .. }), "{error}");
}

#[test]
fn messages_replayed_from_another_round_are_rejected() {
    let mut first = Harness::new(3, 2, b"round-A");
    let mut second = Harness::new(3, 2, b"round-B");
    let old_adverts = first.start();
    for message in old_adverts {
        let error = second
            .hub
            .receive(message.from, message)
            .expect_err("other round");
        assert_eq!(error, SecaggError::WrongSession);
    }
    // And a hub message from round A is refused by a node of round B.
    let directory = HubMessage {
        session: Bytes(first.hub.context().session()),
        to: NodeId(1),
        body: HubBody::Aborted { reason: "x".into() },
    };
    assert_eq!(
        second.nodes[0].handle(&directory).expect_err("other round"),
        SecaggError::WrongSession
    );
}

#[test]
fn duplicates_and_late_messages_are_rejected() {
    let mut h = Harness::new(4, 3, b"t5");
    let adverts = h.start();
    h.hub
        .receive(NodeId(1), adverts[0].clone())
        .expect("first copy");
    let error = h
        .hub
        .receive(NodeId(1), adverts[0].clone())
        .expect_err("duplicate");
    assert!(
        matches!(error, SecaggError::UnexpectedMessage { .. }),
        "{error}"
    );
    h.hub
        .receive(NodeId(2), adverts[1].clone())
        .expect("accepted");
    h.hub
        .receive(NodeId(3), adverts[2].clone())
        .expect("accepted");
    h.hub.tick(10_000); // node 4 is late
    let error = h
        .hub
        .receive(NodeId(4), adverts[3].clone())
        .expect_err("late");
    assert!(
        matches!(error, SecaggError::UnexpectedMessage { .. }),
        "{error}"
    );
}

#[test]
fn a_hub_that_alters_a_relayed_share_is_caught_by_the_node() {
    let mut h = Harness::new(3, 2, b"t6");
    let adverts = h.start();
    h.deliver(adverts);
    let shares = h.answer();
    h.deliver(shares);
    let mut forwarded = h.hub.poll_outgoing(NodeId(1));
    let message = forwarded.remove(0);
    let mut tampered = message.clone();
    if let HubBody::ForwardedShares { shares } = &mut tampered.body {
        shares[0].ciphertext.0[10] ^= 0x40;
    }
    let error = h.nodes[0]
        .handle(&tampered)
        .expect_err("tampered ciphertext");
    assert!(
        matches!(error, SecaggError::BadCiphertext { to: NodeId(1), .. }),
        "{error}"
    );
    // The rejected message changed nothing: the genuine one is still accepted.
    assert!(h.nodes[0].handle(&message).expect("genuine").is_some());
}

#[test]
fn a_hub_that_substitutes_a_key_is_caught_by_the_node() {
    let mut h = Harness::new(3, 2, b"t7");
    let adverts = h.start();
    h.deliver(adverts);
    let mut directory = h.hub.poll_outgoing(NodeId(1)).remove(0);
    if let HubBody::KeyDirectory { adverts } = &mut directory.body {
        adverts[1].keys.mask_public.0[0] ^= 1;
    }
    let error = h.nodes[0].handle(&directory).expect_err("substituted key");
    assert!(
        matches!(
            error,
            SecaggError::BadSignature {
                what: "key advertisement",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn nodes_refuse_to_unmask_below_the_threshold_or_with_overlapping_lists() {
    let mut h = Harness::new(5, 3, b"t8");
    let masked = h.until_masked_inputs();
    h.deliver(masked);
    let session = Bytes(h.hub.context().session());
    let too_few = HubMessage {
        session,
        to: NodeId(1),
        body: HubBody::UnmaskRequest {
            survivors: vec![NodeId(1), NodeId(2)],
            dropped: vec![NodeId(3), NodeId(4), NodeId(5)],
        },
    };
    let error = h.nodes[0].handle(&too_few).expect_err("below threshold");
    assert!(
        matches!(
            error,
            SecaggError::RoundFailed {
                got: 2,
                needed: 3,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(h.nodes[0].phase(), NodePhase::Aborted);
    let overlapping = HubMessage {
        session,
        to: NodeId(2),
        body: HubBody::UnmaskRequest {
            survivors: vec![NodeId(1), NodeId(2), NodeId(3)],
            dropped: vec![NodeId(3)],
        },
    };
    let error = h.nodes[1].handle(&overlapping).expect_err("overlap");
    assert!(matches!(error, SecaggError::Malformed { .. }), "{error}");
}

#[test]
fn a_corrupted_revealed_share_is_detected_by_the_commitment() {
    let mut h = Harness::new(3, 2, b"t9");
    let masked = h.until_masked_inputs();
    h.deliver(masked);
    let mut unmask = h.answer();
    // Node 1 lies about its share of node 2's self mask (and signs the lie).
    let liar = unmask
        .iter_mut()
        .find(|m| m.from == NodeId(1))
        .expect("node 1 answered");
    if let NodeBody::UnmaskShares { self_mask, .. } = &mut liar.body {
        let share = self_mask
            .iter_mut()
            .find(|s| s.owner == NodeId(2))
            .expect("share of node 2");
        let value: Scalar =
            Option::from(Scalar::from_canonical_bytes(share.share.0)).expect("scalar");
        share.share = Bytes((value + Scalar::ONE).to_bytes());
    }
    let key = h.keys[0].clone();
    resign(liar, &key);
    for message in unmask {
        let _ = h.hub.receive(message.from, message);
    }
    match h.hub.result() {
        Some(Err(SecaggError::Reconstruction { node, reason })) => {
            assert_eq!(*node, NodeId(2));
            assert!(reason.contains("commitment"));
        }
        other => panic!("expected a detected bad share, got {other:?}"),
    }
}

#[test]
fn honest_round_through_json_matches_the_plain_sum() {
    let mut h = Harness::new(4, 3, b"t10");
    let mut pending = h.start();
    for _ in 0..4 {
        for message in pending.drain(..) {
            let text = serde_json::to_string(&message).expect("serialises");
            let parsed: NodeMessage = serde_json::from_str(&text).expect("parses");
            assert_eq!(parsed, message);
            h.hub.receive(parsed.from, parsed).expect("accepted");
        }
        for node in &mut h.nodes {
            for message in h.hub.poll_outgoing(node.id()) {
                let text = serde_json::to_string(&message).expect("serialises");
                let parsed: HubMessage = serde_json::from_str(&text).expect("parses");
                pending.extend(node.handle(&parsed).expect("accepted"));
            }
        }
    }
    let output = h.hub.result().expect("finished").clone().expect("success");
    assert_eq!(
        output.sum,
        ring_sum(&h.inputs, &[NodeId(1), NodeId(2), NodeId(3), NodeId(4)])
    );
    let _ = &h.config;
}

#[test]
fn invalid_configurations_are_refused() {
    let keys = identities(4);
    let mut bad = config(&keys, 2, Graph::Full, 4, b"c");
    assert!(
        HubSession::new(bad.clone(), 0).is_err(),
        "threshold 2 of 4 is not a majority"
    );
    bad.threshold = 3;
    bad.participants[1].id = bad.participants[0].id;
    assert!(HubSession::new(bad.clone(), 0).is_err(), "duplicate ids");
    let sparse = config(
        &keys,
        3,
        Graph::Sparse {
            degree: 3,
            share_threshold: 2,
        },
        4,
        b"c",
    );
    assert!(HubSession::new(sparse, 0).is_err(), "odd degree");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let good = config(&keys, 3, Graph::Full, 4, b"c");
    let wrong_key = NodeSession::new(
        good.clone(),
        NodeId(1),
        keys[1].clone(),
        vec![0; 4],
        &mut rng,
    );
    assert!(matches!(wrong_key, Err(SecaggError::InvalidConfig(_))));
    let wrong_length = NodeSession::new(good, NodeId(1), keys[0].clone(), vec![0; 3], &mut rng);
    assert!(matches!(wrong_length, Err(SecaggError::WrongLength { .. })));
}
