//! Runs studies: offers them to nodes, starts each round's protection session,
//! relays protocol messages, absorbs sums into the plan, persists every completed
//! round, and releases results under disclosure control.
//!
//! Restart safety: the plan is persisted after each completed round. A hub restart
//! re-runs the current round under a new attempt number (nodes refuse messages of
//! older attempts). Node inputs are a deterministic function of the study, the round
//! and the node's frozen cohort (and DP noise is derived from the round), so a re-run
//! reveals nothing new and nothing is counted twice.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify};

use salus_core::privacy::PrivacyRecord;
use salus_study::plan::{Progress, StudyPlan};
use salus_wire::{
    Participant, ProtectionParams, ProtocolEnvelope, RoundTask, StudyOffer, WorkItem,
};

use crate::audit::AuditEvent;
use crate::store::{Store, StudyNodeRow, StudyRow};
use crate::{HubError, now_ms};
use salus_protect::{
    Aggregate, DpRound, EncryptedAggregate, HubSession, HubSessionFactory, Outcome, SessionFailure,
    SessionParams,
};

/// How many times a round is re-run after a failed attempt (nodes restarting).
const MAX_RETRIES: u32 = 3;

/// Per-node queues of work, numbered within this process's epoch.
#[derive(Debug, Default)]
struct Outbox {
    next_seq: u64,
    items: VecDeque<(u64, WorkItem)>,
    notify: Arc<Notify>,
}

/// A study in its running round.
struct Running {
    plan: StudyPlan,
    attempt: u32,
    retries: u32,
    participants: Vec<StudyNodeRow>,
    session: Box<dyn HubSession>,
    task: RoundTask,
    /// Threshold HE over several rounds: the request the researcher steered (the hub
    /// cannot take the Newton step itself because it cannot read the sums).
    steered: Option<salus_study::RoundRequest>,
}

/// Builds a protection session for a round (secure aggregation or threshold HE).
pub type SessionFactory = HubSessionFactory;

/// The coordinator, shared by the API handlers and the ticker task.
pub struct Coordinator {
    store: Arc<Store>,
    epoch: String,
    outboxes: Mutex<HashMap<String, Outbox>>,
    running: Mutex<BTreeMap<String, Running>>,
    round_timeout: Duration,
    sessions: SessionFactory,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl Coordinator {
    /// A coordinator over `store`; call [`Coordinator::resume`] once at start.
    pub fn new(store: Arc<Store>, round_timeout: Duration, sessions: SessionFactory) -> Self {
        Coordinator {
            store,
            epoch: crate::random_id(),
            outboxes: Mutex::new(HashMap::new()),
            running: Mutex::new(BTreeMap::new()),
            round_timeout,
            sessions,
        }
    }

    /// This process's epoch (changes at every hub start).
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// After a restart: re-offers undecided studies and restarts running ones at
    /// their current round under a new attempt.
    pub async fn resume(&self) -> Result<(), HubError> {
        for study in self.store.studies(None, Some("submitted")).await? {
            for n in self.store.study_nodes(&study.id).await? {
                if n.state == "offered" {
                    self.push(&n.node_id, WorkItem::Offer(offer(&study))).await;
                }
            }
        }
        for study in self.store.studies(None, Some("running")).await? {
            let id = study.id.clone();
            if let Err(e) = self.start(&study).await {
                self.fail(&id, &format!("could not resume after a hub restart: {e}"))
                    .await?;
            }
        }
        Ok(())
    }

    // ---- node work queues ----

    async fn push(&self, node_id: &str, item: WorkItem) {
        let mut boxes = self.outboxes.lock().await;
        let ob = boxes.entry(node_id.to_string()).or_default();
        ob.next_seq += 1;
        let seq = ob.next_seq;
        ob.items.push_back((seq, item));
        ob.notify.notify_one();
    }

    /// Long poll: items after `after` (same epoch), waiting up to `wait` for new ones.
    pub async fn poll(
        &self,
        node_id: &str,
        epoch: &str,
        after: u64,
        wait: Duration,
    ) -> (u64, Vec<WorkItem>) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notify = {
                let mut boxes = self.outboxes.lock().await;
                let ob = boxes.entry(node_id.to_string()).or_default();
                let acked = if epoch == self.epoch { after } else { 0 };
                while ob.items.front().is_some_and(|(s, _)| *s <= acked) {
                    ob.items.pop_front();
                }
                if !ob.items.is_empty() {
                    let last = ob.items.back().map_or(acked, |(s, _)| *s);
                    return (last, ob.items.iter().map(|(_, i)| i.clone()).collect());
                }
                ob.notify.clone()
            };
            if tokio::time::timeout_at(deadline, notify.notified())
                .await
                .is_err()
            {
                return (if epoch == self.epoch { after } else { 0 }, Vec::new());
            }
        }
    }

    // ---- lifecycle ----

    /// Offers a freshly stored study to its nodes.
    pub async fn offer(&self, study: &StudyRow) -> Result<(), HubError> {
        for n in self.store.study_nodes(&study.id).await? {
            self.push(&n.node_id, WorkItem::Offer(offer(study))).await;
        }
        Ok(())
    }

    /// Called after a node's decision: fail on refusal, start when all approved.
    pub async fn after_decision(
        &self,
        study_id: &str,
        nodes: &[StudyNodeRow],
    ) -> Result<(), HubError> {
        if let Some(r) = nodes.iter().find(|n| n.state == "refused") {
            let why = r.reason.clone().unwrap_or_else(|| "no reason given".into());
            return self
                .fail(
                    study_id,
                    &format!("node `{}` refused the study: {why}", r.name),
                )
                .await;
        }
        if nodes.iter().all(|n| n.state == "approved") {
            self.store.set_status(study_id, "running", None).await?;
            let study = self.store.study(study_id).await?;
            self.start(&study).await?;
        }
        Ok(())
    }

    /// Starts (or restarts) the current round of a running study.
    async fn start(&self, study: &StudyRow) -> Result<(), HubError> {
        let plan: StudyPlan =
            serde_json::from_str(&study.plan_json).map_err(|e| HubError::Corrupt(e.to_string()))?;
        let participants = self.store.study_nodes(&study.id).await?;
        let attempt = study.attempt as u32 + 1;
        self.store
            .save_progress(
                &study.id,
                &study.plan_json,
                study.round,
                attempt as i64,
                None,
            )
            .await?;
        let steered = steered_request(study)?;
        self.begin_round(study, plan, participants, attempt, 0, steered)
            .await
    }

    async fn begin_round(
        &self,
        study: &StudyRow,
        plan: StudyPlan,
        participants: Vec<StudyNodeRow>,
        attempt: u32,
        retries: u32,
        steered: Option<salus_study::RoundRequest>,
    ) -> Result<(), HubError> {
        let request = match &steered {
            Some(r) => r.clone(),
            None => plan
                .next_round()
                .ok_or_else(|| HubError::Corrupt("a running study has no round to run".into()))?,
        };
        let one_shot = request.round == 0 && matches!(request.step, salus_study::Step::Once);
        let n = participants.len();
        // Multi-round analyses need every node in every round: a sum over a smaller
        // set in a later round would let the hub difference out a node's values.
        let threshold = if one_shot {
            study.spec.threshold.unwrap_or(n).min(n)
        } else {
            n
        };
        let protocol_participants: Vec<Participant> = participants
            .iter()
            .map(|p| Participant {
                node_id: p.node_id.clone(),
                name: p.name.clone(),
                identity_key: p.identity_key.clone(),
            })
            .collect();
        let dp = study_dp_round(&study.spec, plan.schema())?;
        let params = SessionParams {
            session_id: format!("{}/{}/{}", study.id, request.round, attempt),
            participants: protocol_participants.clone(),
            threshold,
            layout: request.layout.clone(),
            deadline_ms: now_ms() as u64 + self.round_timeout.as_millis() as u64,
            dp,
            researcher_key: study.researcher_key.clone(),
        };
        let session = (self.sessions)(study.spec.protection.as_str(), &params)
            .map_err(|e| HubError::Invalid(format!("cannot start the protection protocol: {e}")))?;
        let task = RoundTask {
            study_id: study.id.clone(),
            attempt,
            request,
            participants: protocol_participants,
            protection: ProtectionParams {
                mode: study.spec.protection.as_str().to_string(),
                threshold,
                dp: params.dp.clone(),
                researcher_key: params.researcher_key.clone(),
            },
        };
        for p in &participants {
            self.push(&p.node_id, WorkItem::Round(task.clone())).await;
        }
        let running = Running {
            plan,
            attempt,
            retries,
            participants,
            session,
            task,
            steered,
        };
        self.running.lock().await.insert(study.id.clone(), running);
        Ok(())
    }

    /// A protocol message from a node.
    pub async fn receive(&self, node_id: &str, env: ProtocolEnvelope) -> Result<(), HubError> {
        let outgoing = {
            let mut running = self.running.lock().await;
            let r = running.get_mut(&env.study_id).ok_or_else(|| {
                HubError::Gone(format!("study `{}` is not running", env.study_id))
            })?;
            if env.attempt != r.attempt || env.round != r.task.request.round {
                return Err(HubError::Gone(format!(
                    "message for round {} attempt {} is stale (current: round {} attempt {})",
                    env.round, env.attempt, r.task.request.round, r.attempt
                )));
            }
            if !r.participants.iter().any(|p| p.node_id == node_id) {
                return Err(HubError::Forbidden(
                    "this node does not take part in the study".into(),
                ));
            }
            r.session
                .receive(node_id, env.body, now_ms() as u64)
                .map_err(|e| HubError::Invalid(format!("protocol message refused: {e}")))?;
            let out = r.session.take_outgoing();
            out.into_iter()
                .map(|(to, body)| {
                    (
                        to,
                        ProtocolEnvelope {
                            study_id: env.study_id.clone(),
                            round: env.round,
                            attempt: env.attempt,
                            body,
                        },
                    )
                })
                .collect::<Vec<_>>()
        };
        for (to, e) in outgoing {
            self.push(&to, WorkItem::Protocol(e)).await;
        }
        self.settle(&env.study_id).await
    }

    /// A node reports it cannot compute the round (policy refusal or data error).
    pub async fn node_failed(
        &self,
        node: &crate::store::NodeRecord,
        study_id: &str,
        message: &str,
    ) -> Result<(), HubError> {
        self.store
            .set_node_failed(study_id, &node.node_id, message)
            .await?;
        self.running.lock().await.remove(study_id);
        self.fail(
            study_id,
            &format!("node `{}` could not take part: {message}", node.name),
        )
        .await
    }

    /// Periodic work: deadlines, retries, finished sessions.
    pub async fn tick(&self) -> Result<(), HubError> {
        let ids: Vec<String> = {
            let mut running = self.running.lock().await;
            let now = now_ms() as u64;
            for r in running.values_mut() {
                r.session.tick(now);
            }
            running.keys().cloned().collect()
        };
        for id in ids {
            if let Err(e) = self.settle(&id).await {
                tracing::warn!(study = %id, error = %e, "study step failed");
                self.fail(&id, &e.to_string()).await?;
            }
        }
        Ok(())
    }

    /// If the study's session finished, act on it.
    async fn settle(&self, study_id: &str) -> Result<(), HubError> {
        let (outcome, outgoing) = {
            let mut running = self.running.lock().await;
            let Some(r) = running.get_mut(study_id) else {
                return Ok(());
            };
            let out = r.session.take_outgoing();
            (r.session.outcome(), out)
        };
        if !outgoing.is_empty() {
            let (round, attempt) = {
                let running = self.running.lock().await;
                let r = &running[study_id];
                (r.task.request.round, r.attempt)
            };
            for (to, body) in outgoing {
                let env = ProtocolEnvelope {
                    study_id: study_id.to_string(),
                    round,
                    attempt,
                    body,
                };
                self.push(&to, WorkItem::Protocol(env)).await;
            }
        }
        match outcome {
            None => Ok(()),
            Some(Ok(Outcome::Sum(aggregate))) => self.round_done(study_id, aggregate).await,
            Some(Ok(Outcome::Encrypted(enc))) => self.encrypted_done(study_id, enc).await,
            Some(Err(failure)) => self.round_failed(study_id, failure).await,
        }
    }

    async fn round_failed(&self, study_id: &str, failure: SessionFailure) -> Result<(), HubError> {
        let Some(r) = self.running.lock().await.remove(study_id) else {
            return Ok(());
        };
        let names: Vec<String> = r
            .participants
            .iter()
            .filter(|p| failure.missing.contains(&p.node_id))
            .map(|p| p.name.clone())
            .collect();
        if r.retries < MAX_RETRIES && self.all_alive(&failure.missing).await? {
            tracing::info!(study = %study_id, attempt = r.attempt, "round failed, retrying: {}", failure.message);
            let study = self.store.study(study_id).await?;
            let attempt = r.attempt + 1;
            self.store
                .save_progress(
                    study_id,
                    &study.plan_json,
                    study.round,
                    attempt as i64,
                    None,
                )
                .await?;
            return self
                .begin_round(
                    &study,
                    r.plan,
                    r.participants,
                    attempt,
                    r.retries + 1,
                    r.steered,
                )
                .await;
        }
        let who = if names.is_empty() {
            String::new()
        } else {
            format!(" (no answer from: {})", names.join(", "))
        };
        self.fail(
            study_id,
            &format!(
                "round {} failed: {}{who}; nothing was released. Check that the nodes are running and resubmit",
                r.task.request.round, failure.message
            ),
        )
        .await
    }

    /// True when every listed node polled the hub recently (it is alive, e.g. restarted).
    async fn all_alive(&self, node_ids: &[String]) -> Result<bool, HubError> {
        let nodes = self.store.list_nodes().await?;
        let recent = now_ms() - 2 * self.round_timeout.as_millis() as i64;
        Ok(node_ids.iter().all(|id| {
            nodes
                .iter()
                .any(|n| &n.node_id == id && n.last_seen.is_some_and(|t| t >= recent))
        }))
    }

    async fn round_done(&self, study_id: &str, aggregate: Aggregate) -> Result<(), HubError> {
        let Some(mut r) = self.running.lock().await.remove(study_id) else {
            return Ok(());
        };
        let round = r.task.request.round;
        let progress = r
            .plan
            .absorb(round, &aggregate.sum)
            .map_err(|e| HubError::Invalid(format!("round {round}: {e}")))?;
        let plan_json =
            serde_json::to_string(&r.plan).map_err(|e| HubError::Corrupt(e.to_string()))?;
        let study = self.store.study(study_id).await?;
        match progress {
            Progress::NextRound => {
                let event = AuditEvent::new(
                    "study.round",
                    serde_json::json!({"study": study_id, "round": round, "contributors": self.names(&r.participants, &aggregate.contributors)}),
                );
                let next_round = r.plan.round() as i64;
                self.store
                    .save_progress(
                        study_id,
                        &plan_json,
                        next_round,
                        r.attempt as i64,
                        Some(event),
                    )
                    .await?;
                let study = self.store.study(study_id).await?;
                self.begin_round(&study, r.plan, r.participants, r.attempt, 0, None)
                    .await
            }
            Progress::Done => self.release(&study, &r, &aggregate, &plan_json).await,
        }
    }

    fn names(&self, participants: &[StudyNodeRow], ids: &[String]) -> Vec<String> {
        participants
            .iter()
            .filter(|p| ids.contains(&p.node_id))
            .map(|p| p.name.clone())
            .collect()
    }

    async fn release(
        &self,
        study: &StudyRow,
        r: &Running,
        aggregate: &Aggregate,
        plan_json: &str,
    ) -> Result<(), HubError> {
        let min_cell = self.min_cell(r);
        let released = match r.plan.release(min_cell) {
            Ok(x) => x,
            Err(e) => {
                return self
                    .fail(&study.id, &format!("nothing released: {e}"))
                    .await;
            }
        };
        let mut caveats = released.caveats.clone();
        if aggregate.contributors.len() == 1 {
            caveats.push("only one node contributed: the hub saw that node's aggregate".into());
        }
        let privacy = PrivacyRecord {
            protection: study.spec.protection.as_str().to_string(),
            hub_saw: aggregate.hub_saw.clone(),
            researcher_sees: format!(
                "the {} result after disclosure control (cells below {min_cell} suppressed)",
                study.spec.analysis.kind()
            ),
            nodes: self.names(&r.participants, &aggregate.contributors),
            dropped: self.names(&r.participants, &aggregate.dropped),
            threshold: r.task.protection.threshold,
            min_cell_count: min_cell,
            suppressed_cells: released.suppressed_cells,
            consent_excluded: released.consent_excluded,
            dp: dp_record(study, r, aggregate),
            caveats,
        };
        let result_json = serde_json::to_string(&released.result)
            .map_err(|e| HubError::Corrupt(e.to_string()))?;
        let privacy_json =
            serde_json::to_string(&privacy).map_err(|e| HubError::Corrupt(e.to_string()))?;
        self.store
            .complete_study(&study.id, plan_json, &result_json, &privacy_json)
            .await?;
        self.close(&study.id, "completed").await
    }

    /// Threshold HE: the hub holds only the sum encrypted to the researcher's key. It
    /// stores it with the (data-free) plan; the researcher's client decrypts, absorbs
    /// the sum and applies the same disclosure control. A model fitted over several
    /// rounds waits for the researcher after every round (`awaiting-researcher`): they
    /// decrypt the sums so far, take the Newton step and steer the next round
    /// ([`Coordinator::advance`]).
    async fn encrypted_done(
        &self,
        study_id: &str,
        enc: EncryptedAggregate,
    ) -> Result<(), HubError> {
        let Some(r) = self.running.lock().await.remove(study_id) else {
            return Ok(());
        };
        let study = self.store.study(study_id).await?;
        let one_shot =
            r.task.request.round == 0 && matches!(r.task.request.step, salus_study::Step::Once);
        let min_cell = self.min_cell(&r);
        // The threshold key ceremony (collective key generation and key switching to
        // the researcher's key) is a security event of its own: who took part, and
        // which researcher key the result is bound to (ids and hashes only).
        let researcher_key_id = study
            .researcher_key
            .as_deref()
            .and_then(|k| salus_protect::ResearcherKeys::key_id(k).ok());
        self.store
            .record_event(crate::audit::AuditEvent::new(
                "key.ceremony",
                serde_json::json!({
                    "study": study_id,
                    "round": r.task.request.round,
                    "protection": "threshold-he",
                    "participants": self.names(&r.participants, &enc.contributors),
                    "researcher_key_id": researcher_key_id,
                    "ciphertext_sha256": crate::hash_secret(&enc.ciphertext),
                }),
            ))
            .await?;
        let plan = serde_json::from_str::<serde_json::Value>(&study.plan_json)
            .map_err(|e| HubError::Corrupt(e.to_string()))?;
        let mut caveats = vec![
            "disclosure control runs in the researcher's client, because nobody else can read the sum".to_string(),
        ];
        let mut result = serde_json::json!({
            "encrypted_sum": enc.ciphertext,
            "round": r.task.request.round,
            "plan": plan,
        });
        if !one_shot {
            // Every round's encrypted sum, in order: the researcher replays them all.
            let mut rounds = study
                .result_json
                .as_deref()
                .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                .and_then(|v| {
                    v.get("encrypted_rounds")
                        .and_then(|a| a.as_array())
                        .cloned()
                })
                .unwrap_or_default();
            rounds.truncate(r.task.request.round as usize);
            rounds.push(serde_json::Value::String(enc.ciphertext.clone()));
            result["encrypted_rounds"] = serde_json::Value::Array(rounds);
            caveats.push(
                "fitted over several rounds steered by the researcher: the hub relayed the researcher's coefficients of every round to the nodes, but never saw a sum".into(),
            );
        }
        let privacy = PrivacyRecord {
            protection: study.spec.protection.as_str().to_string(),
            hub_saw: enc.hub_saw.clone(),
            researcher_sees: format!(
                "the sum decrypted with the researcher's own key, then the {} result after disclosure control (cells below {min_cell} suppressed by the researcher's Salus client)",
                study.spec.analysis.kind()
            ),
            nodes: self.names(&r.participants, &enc.contributors),
            dropped: vec![],
            threshold: r.participants.len(),
            min_cell_count: min_cell,
            suppressed_cells: 0,
            consent_excluded: None,
            dp: None,
            caveats,
        };
        let result_json =
            serde_json::to_string(&result).map_err(|e| HubError::Corrupt(e.to_string()))?;
        let privacy_json =
            serde_json::to_string(&privacy).map_err(|e| HubError::Corrupt(e.to_string()))?;
        if one_shot {
            self.store
                .complete_study(study_id, &study.plan_json, &result_json, &privacy_json)
                .await?;
            return self.close(study_id, "completed").await;
        }
        self.store
            .await_researcher(study_id, &result_json, &privacy_json)
            .await
    }

    /// The researcher steers a threshold-HE study after reading its sums up to
    /// `req.round`: either the next round (checked against the study's analysis: round
    /// number, step shape and layout; the step's values only the researcher can check)
    /// or completion.
    pub async fn advance(
        &self,
        study: &StudyRow,
        req: salus_wire::AdvanceStudy,
    ) -> Result<(), HubError> {
        if study.status != "awaiting-researcher" {
            return Err(HubError::Conflict(format!(
                "study `{}` is {}; only a study awaiting its researcher can be advanced",
                study.id, study.status
            )));
        }
        let mut result: serde_json::Value = study
            .result_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| HubError::Corrupt(e.to_string()))?
            .ok_or_else(|| HubError::Corrupt("an awaiting study has no stored sums".into()))?;
        let held = result["round"].as_u64().unwrap_or(0) as u32;
        if req.round != held {
            return Err(HubError::Conflict(format!(
                "the hub holds the sums up to round {held}, not {}; fetch the result again",
                req.round
            )));
        }
        let Some(next) = req.next else {
            let privacy_json = study.privacy_json.clone().unwrap_or_default();
            let result_json = study.result_json.clone().unwrap_or_default();
            self.store
                .complete_study(&study.id, &study.plan_json, &result_json, &privacy_json)
                .await?;
            return self.close(&study.id, "completed").await;
        };
        let plan: StudyPlan =
            serde_json::from_str(&study.plan_json).map_err(|e| HubError::Corrupt(e.to_string()))?;
        plan.check_steered_request(held, &next)
            .map_err(|e| HubError::Invalid(format!("the steered round was refused: {e}")))?;
        result["request"] =
            serde_json::to_value(&next).map_err(|e| HubError::Corrupt(e.to_string()))?;
        let result_json =
            serde_json::to_string(&result).map_err(|e| HubError::Corrupt(e.to_string()))?;
        let event = AuditEvent::new(
            "study.round",
            serde_json::json!({"study": study.id, "round": held, "steered_by": study.researcher}),
        );
        self.store
            .resume_steered(&study.id, i64::from(next.round), &result_json, event)
            .await?;
        let study = self.store.study(&study.id).await?;
        self.start(&study).await
    }

    fn min_cell(&self, r: &Running) -> u64 {
        r.participants
            .iter()
            .filter_map(|p| p.min_cell_count)
            .max()
            .unwrap_or(5)
            .max(1) as u64
    }

    /// Marks a study failed and tells its nodes.
    pub async fn fail(&self, study_id: &str, message: &str) -> Result<(), HubError> {
        self.running.lock().await.remove(study_id);
        self.store
            .set_status(study_id, "failed", Some(message))
            .await?;
        self.close(study_id, "failed").await
    }

    async fn close(&self, study_id: &str, status: &str) -> Result<(), HubError> {
        for n in self.store.study_nodes(study_id).await? {
            self.push(
                &n.node_id,
                WorkItem::Closed {
                    study_id: study_id.to_string(),
                    status: status.to_string(),
                },
            )
            .await;
        }
        Ok(())
    }
}

/// The researcher-steered request of a running threshold-HE study, if any.
fn steered_request(study: &StudyRow) -> Result<Option<salus_study::RoundRequest>, HubError> {
    let Some(json) = study.result_json.as_deref() else {
        return Ok(None);
    };
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| HubError::Corrupt(e.to_string()))?;
    match value.get("request") {
        Some(r) => Ok(Some(
            serde_json::from_value(r.clone()).map_err(|e| HubError::Corrupt(e.to_string()))?,
        )),
        None => Ok(None),
    }
}

fn offer(study: &StudyRow) -> StudyOffer {
    StudyOffer {
        study_id: study.id.clone(),
        spec: study.spec.clone(),
        researcher: study.researcher.clone(),
        organisation: study.organisation.clone(),
    }
}

/// The DP parameters of a study's round: rho from the spec's (epsilon, delta) and the
/// analysis' sensitivity. `None` without `[dp]`.
fn study_dp_round(
    spec: &salus_core::study::StudySpec,
    schema: &salus_core::schema::DatasetSchema,
) -> Result<Option<DpRound>, HubError> {
    let Some(dp) = &spec.dp else { return Ok(None) };
    let rho = salus_dp::zcdp::epsilon_delta_to_rho(dp.epsilon, dp.delta)
        .map_err(|e| HubError::Invalid(format!("the study's [dp] parameters: {e}")))?;
    let (l1, l2) = salus_study::plan::dp_sensitivity(spec, schema)
        .map_err(|e| HubError::Invalid(e.to_string()))?;
    Ok(Some(DpRound {
        rho,
        l1_sensitivity: l1,
        l2_sensitivity: l2,
    }))
}

/// The DP part of a privacy record: what was charged, how it was noised, and what
/// budget each contributing node reported left.
fn dp_record(
    study: &StudyRow,
    r: &Running,
    aggregate: &Aggregate,
) -> Option<salus_core::privacy::DpRecord> {
    let dp = study.spec.dp.as_ref()?;
    let round = r.task.protection.dp.as_ref()?;
    let mechanism = aggregate
        .noise
        .as_ref()
        .map(|n| {
            n.get("mechanism")
                .and_then(|m| m.as_str())
                .map_or_else(|| n.to_string(), str::to_string)
        })
        .unwrap_or_else(|| "distributed noise added by each node before protection".into());
    Some(salus_core::privacy::DpRecord {
        rho: round.rho,
        epsilon: dp.epsilon,
        delta: dp.delta,
        mechanism,
        remaining_rho: r
            .participants
            .iter()
            .filter_map(|p| p.remaining_rho.map(|rho| (p.name.clone(), rho)))
            .collect(),
    })
}
