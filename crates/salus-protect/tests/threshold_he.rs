//! Threshold HE through the session traits: the researcher's decryption equals the
//! secure-aggregation sum (with and without DP), a missing node fails the session, and a
//! node refuses any key-switch request that is not the sum of every participant's
//! signed contribution.

mod common;

use common::{Run, assert_close, identity_seed, params, plain_sum, run};
use rand::SeedableRng;
use salus_he::{Ciphertext, CollectivePublicKey, Crs, Params, Party};
use salus_protect::threshold_he::{HeHubMessage, HeNodeMessage, MODE};
use salus_protect::{
    DpRound, EncryptedSum, HubSession, NodeSession, NodeSessionParams, ResearcherKeys,
    SessionParams, decrypt_encrypted_sum, hub_session, node_session, secure_aggregation,
};
use salus_study::layout::Layout;

fn layout() -> Layout {
    Layout::default()
        .counts("n", 2)
        .reals("bmi_sum", 2)
        .counts("events", 1)
}

fn contributions() -> Vec<Vec<f64>> {
    vec![
        vec![120.0, 7.0, 3_003.125, -0.25, 4.0],
        vec![98.0, 12.0, 2_410.5, 1e-6, 9.0],
        vec![301.0, 0.0, 8_207.0, 123_456.789, 0.0],
    ]
}

fn researcher() -> (String, String) {
    ResearcherKeys::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(5)).expect("key pair")
}

fn he_params(dp: Option<DpRound>, public: &str) -> SessionParams {
    let mut p = params(3, layout(), 3, dp);
    p.researcher_key = Some(public.to_string());
    p
}

#[test]
fn the_decrypted_sum_equals_the_secure_aggregation_sum_with_and_without_dp() {
    let (secret, public) = researcher();
    for dp in [
        None,
        Some(DpRound {
            rho: 0.002,
            l1_sensitivity: 1.0,
            l2_sensitivity: 1.0,
        }),
    ] {
        let p = he_params(dp.clone(), &public);
        let report = run(&p, &contributions(), &Run::new(MODE, 3));
        assert!(
            report.hub_errors.is_empty() && report.node_errors.is_empty(),
            "{report:?}"
        );
        assert_eq!(
            report.exchanges, 2,
            "two hub deliveries: the collective key, the key-switch request"
        );
        let encrypted = report.encrypted();
        assert_eq!(encrypted.contributors, vec!["node-0", "node-1", "node-2"]);
        assert!(
            encrypted.hub_saw.contains("cannot open"),
            "{}",
            encrypted.hub_saw
        );
        let decrypted = decrypt_encrypted_sum(&secret, &encrypted.ciphertext).expect("decrypts");

        let twin = run(
            &params(3, layout(), 3, dp.clone()),
            &contributions(),
            &Run::new(secure_aggregation::MODE, 3),
        );
        assert_eq!(
            decrypted,
            twin.sum().sum,
            "identical integer sums in both modes"
        );
        if dp.is_none() {
            assert_close(
                &layout(),
                &decrypted,
                &plain_sum(&contributions(), |_| true),
                &contributions(),
            );
        } else {
            let blob = EncryptedSum::from_text(&encrypted.ciphertext).expect("reads");
            let noise = blob.noise.expect("noise record");
            assert_eq!(noise["rho"], 0.002);
            let twin_noise = twin.sum().noise.clone().expect("noise record");
            assert_eq!(noise["mechanism"], twin_noise["mechanism"]);
            let variance = |v: &serde_json::Value| v["variance"].as_f64().expect("number");
            assert!((variance(&noise) - variance(&twin_noise)).abs() < 1e-9 * variance(&noise));
            assert_ne!(decrypted, plain_sum(&contributions(), |_| true));
        }
    }
}

#[test]
fn a_missing_node_fails_the_session_at_any_phase() {
    let (_, public) = researcher();
    let p = he_params(None, &public);
    for (leaves_after, phase) in [(0, "public key shares"), (2, "key-switch shares")] {
        let mut options = Run::new(MODE, 3);
        options.posts_before_leaving[1] = Some(leaves_after);
        let report = run(&p, &contributions(), &options);
        let failure = report.failure();
        assert_eq!(failure.missing, vec!["node-1"], "{failure:?}");
        assert!(failure.message.contains(phase), "{}", failure.message);
    }
}

#[test]
fn wrong_keys_and_other_versions_cannot_open_the_sum() {
    let (secret, public) = researcher();
    let report = run(
        &he_params(None, &public),
        &contributions(),
        &Run::new(MODE, 3),
    );
    let blob = &report.encrypted().ciphertext;
    let (other_secret, _) =
        ResearcherKeys::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(6))
            .expect("key pair");
    let error = decrypt_encrypted_sum(&other_secret, blob)
        .expect_err("another key")
        .to_string();
    assert!(error.contains("another researcher key"), "{error}");
    assert!(
        decrypt_encrypted_sum(&public, blob).is_err(),
        "a public key is not a secret key"
    );
    let newer = blob.replacen("\"version\":1", "\"version\":2", 1);
    let error = decrypt_encrypted_sum(&secret, &newer)
        .expect_err("other version")
        .to_string();
    assert!(error.contains("version 2 is not supported"), "{error}");
    assert_eq!(
        ResearcherKeys::public_from_secret(&secret).expect("reads"),
        public
    );
    assert!(ResearcherKeys::key_id(&public).expect("reads").len() == 64);
}

/// A hub and three nodes driven by hand, so messages can be tampered with.
struct Manual {
    params: SessionParams,
    hub: Box<dyn HubSession>,
    nodes: Vec<Box<dyn NodeSession>>,
}

impl Manual {
    fn new() -> Self {
        let (_, public) = researcher();
        let params = he_params(None, &public);
        let hub = hub_session(MODE, &params).expect("hub");
        let nodes = (0..3)
            .map(|i| {
                let node = NodeSessionParams {
                    session: params.clone(),
                    node_id: format!("node-{i}"),
                    identity_seed: identity_seed(i),
                    noise_seed: [1; 32],
                    fresh_seed: [10 + i as u8; 32],
                };
                node_session(MODE, &node, contributions()[i].clone()).expect("node")
            })
            .collect();
        Self { params, hub, nodes }
    }

    fn post(&mut self, i: usize, bodies: Vec<serde_json::Value>) {
        for body in bodies {
            self.hub
                .receive(&format!("node-{i}"), body, 2_000)
                .expect("hub accepts");
        }
    }

    /// Runs key ceremony and encryption; returns the hub's message for each node.
    fn until_key_switch_request(&mut self) -> Vec<serde_json::Value> {
        for i in 0..3 {
            let bodies = self.nodes[i].start().expect("starts");
            self.post(i, bodies);
        }
        let keys = self.hub.take_outgoing();
        for (to, body) in keys {
            let i = index(&to);
            let replies = self.nodes[i].handle(body).expect("encrypts");
            self.post(i, replies);
        }
        self.hub
            .take_outgoing()
            .into_iter()
            .map(|(_, body)| body)
            .collect()
    }
}

fn index(node_id: &str) -> usize {
    node_id[5..].parse().expect("node-i")
}

fn request(
    body: &serde_json::Value,
) -> (String, Vec<salus_protect::threshold_he::SignedCiphertext>) {
    match serde_json::from_value(body.clone()).expect("hub message") {
        HeHubMessage::KeySwitchRequest {
            session,
            ciphertexts,
        } => (session, ciphertexts),
        other => panic!("expected a key-switch request, got {other:?}"),
    }
}

fn as_body(
    session: &str,
    ciphertexts: Vec<salus_protect::threshold_he::SignedCiphertext>,
) -> serde_json::Value {
    serde_json::to_value(HeHubMessage::KeySwitchRequest {
        session: session.to_string(),
        ciphertexts,
    })
    .expect("serializes")
}

#[test]
fn nodes_refuse_tampered_key_switch_requests() {
    let mut m = Manual::new();
    let requests = m.until_key_switch_request();
    let (session, honest) = request(&requests[0]);
    let node = &mut m.nodes[0];
    let refuse = |node: &mut Box<dyn NodeSession>, body: serde_json::Value, why: &str| {
        let error = node.handle(body).expect_err(why);
        assert!(
            error.contains("refused") || error.contains("another session"),
            "{why}: {error}"
        );
    };

    // One participant left out: the "sum" would be a partial sum.
    refuse(
        node,
        as_body(&session, honest[..2].to_vec()),
        "missing ciphertext",
    );
    // Node 1's ciphertext replaced by a copy of node 2's (re-labelled): bad signature.
    let mut swapped = honest.clone();
    swapped[1].ciphertext = honest[2].ciphertext.clone();
    refuse(node, as_body(&session, swapped), "substituted ciphertext");
    // Others replaced by encryptions of zero made by the hub under the collective key, to
    // isolate node 2's value: the hub cannot sign them for the nodes.
    let mut isolating = honest.clone();
    let zero = Ciphertext::sum([
        &honest[2].ciphertext,
        &honest[2].ciphertext.scale(-1).expect("scales"),
    ])
    .expect("adds");
    isolating[0].ciphertext = zero.clone();
    isolating[1].ciphertext = zero;
    refuse(node, as_body(&session, isolating), "isolating request");
    // A corrupted signature.
    let mut forged = honest.clone();
    forged[2].signature = "00".repeat(64);
    refuse(node, as_body(&session, forged), "forged signature");
    // Reordered entries.
    let mut reordered = honest.clone();
    reordered.swap(1, 2);
    refuse(node, as_body(&session, reordered), "reordered");
    // Another session's binding.
    refuse(
        node,
        as_body(&"ab".repeat(32), honest.clone()),
        "other session",
    );

    // The honest request is still answered, exactly once.
    let share = node.handle(requests[0].clone()).expect("honest request");
    assert_eq!(share.len(), 1);
    refuse(node, requests[0].clone(), "second request");
}

#[test]
fn nodes_refuse_a_collective_key_that_leaves_someone_out() {
    let m = Manual::new();
    let mut node = {
        let node = NodeSessionParams {
            session: m.params.clone(),
            node_id: "node-0".into(),
            identity_seed: identity_seed(0),
            noise_seed: [1; 32],
            fresh_seed: [3; 32],
        };
        node_session(MODE, &node, contributions()[0].clone()).expect("node")
    };
    let posted = node.start().expect("starts").remove(0);
    let HeNodeMessage::KeyShare { session, share } =
        serde_json::from_value(posted).expect("key share")
    else {
        panic!("expected a key share")
    };
    // The hub builds a key from node 0's share and one of its own, leaving nodes 1 and 2 out.
    let params = Params::standard();
    let label = {
        // Same CRS as the session (derived from its binding).
        let mut label = b"salus-protect/v1/threshold-he/crs/".to_vec();
        label.extend(hex::decode(&session).expect("hex"));
        label
    };
    let crs = Crs::derive(&params, &label).expect("crs");
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let intruder = Party::new(2, &params, &crs, &mut rng).expect("party");
    let key =
        CollectivePublicKey::combine([&share, &intruder.public_key_share()]).expect("combines");
    let body =
        serde_json::to_value(HeHubMessage::CollectiveKey { session, key }).expect("serializes");
    let error = node.handle(body).expect_err("refused");
    assert!(
        error.contains("not exactly this study's participants"),
        "{error}"
    );
}

#[test]
fn the_hub_refuses_shares_from_the_wrong_node_and_duplicates() {
    let mut m = Manual::new();
    let first = m.nodes[0].start().expect("starts").remove(0);
    let error = m
        .hub
        .receive("node-1", first.clone(), 2_000)
        .expect_err("wrong sender");
    assert!(error.contains("party 2"), "{error}");
    m.hub
        .receive("node-0", first.clone(), 2_000)
        .expect("accepted");
    assert!(
        m.hub
            .receive("node-0", first, 2_000)
            .expect_err("duplicate")
            .contains("duplicate")
    );
    assert!(
        m.hub
            .receive("node-0", serde_json::json!({"type": "key-share"}), 2_000)
            .is_err()
    );
}

#[test]
fn threshold_he_needs_a_researcher_key_and_at_most_64_nodes() {
    let p = params(3, layout(), 3, None);
    let error = hub_session(MODE, &p)
        .err()
        .expect("no researcher key")
        .to_string();
    assert!(error.contains("researcher's public key"), "{error}");
    let mut bad = p.clone();
    bad.researcher_key = Some("not a key".into());
    assert!(hub_session(MODE, &bad).is_err());
    let (_, public) = researcher();
    let mut many = params(65, layout(), 65, None);
    many.researcher_key = Some(public);
    assert!(
        hub_session(MODE, &many)
            .err()
            .expect("too many")
            .to_string()
            .contains("at most 64")
    );
}
