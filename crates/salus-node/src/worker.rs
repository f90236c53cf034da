//! The node's work loop: long-poll the hub (with backoff when it is unreachable, never
//! per-second polling), decide on offered studies by policy, compute contributions on
//! frozen cohorts, and run the node side of each round's protection session.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use salus_core::policy::{Approval, NodePolicy, Refusal};
use salus_net::NetError;
use salus_net::client::HubClient;
use salus_study::local::{Cohort, contribute};
use salus_study::plan::StudyPlan;
use salus_table::Table;
use salus_wire::{
    DatasetAnnouncement, Decision, NodeFailure, PollResponse, ProtocolEnvelope, RoundTask,
    StudyOffer, WorkItem,
};

use crate::identity::Identity;
use crate::store::{NodeStore, NodeStudy, pack_bits, symmetric_difference, unpack_bits};
use crate::{NodeConfig, NodeError, datasets};
use salus_protect::{NodeSession, NodeSessionFactory, NodeSessionParams, SessionParams};

/// How long one long poll waits at the hub.
const POLL_WAIT: Duration = Duration::from_secs(20);
/// Longest pause between attempts when the hub is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

type SessionKey = (String, u32, u32);

/// The running worker.
pub struct Worker {
    identity: Identity,
    store: NodeStore,
    client: HubClient,
    factory: NodeSessionFactory,
    epoch: String,
    after: u64,
    sessions: HashMap<SessionKey, Box<dyn NodeSession>>,
    tables: HashMap<String, (String, Arc<Table>)>,
    identity_seed: [u8; 32],
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("node", &self.identity.info.name)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker for an enrolled node.
    pub async fn new(
        config: &NodeConfig,
        factory: NodeSessionFactory,
    ) -> Result<Worker, NodeError> {
        let identity = crate::identity::load(config)?;
        let store = NodeStore::open(config).await?;
        let client = identity.client()?;
        let identity_seed = identity.signing_seed()?;
        Ok(Worker {
            identity,
            store,
            client,
            factory,
            epoch: String::new(),
            after: 0,
            sessions: HashMap::new(),
            tables: HashMap::new(),
            identity_seed,
        })
    }

    /// Runs until `stop` turns true. Returns an error only for conditions a restart
    /// cannot fix (the node was revoked).
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> Result<(), NodeError> {
        let mut backoff = Duration::from_millis(500);
        // The policy hash last announced: a changed policy is announced again.
        let mut announced: Option<String> = None;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let step = async {
                let policy = self.store.policy().await?;
                let hash = policy_hash(&policy)?;
                if announced.as_deref() != Some(hash.as_str()) {
                    self.announce(&policy, &hash).await?;
                    announced = Some(hash);
                }
                self.send_decisions().await?;
                self.report_consent_receipts().await?;
                self.poll_once().await
            };
            let result = tokio::select! {
                r = step => r,
                _ = stop.changed() => return Ok(()),
            };
            match result {
                Ok(()) => backoff = Duration::from_millis(500),
                Err(NodeError::Net(e)) if e.is_transient() => {
                    tracing::warn!(node = %self.identity.info.name, error = %e, "hub unreachable; retrying in {:?}", backoff);
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {},
                        _ = stop.changed() => return Ok(()),
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(NodeError::Net(NetError::Api {
                    status: 401 | 403,
                    message,
                    ..
                })) => {
                    return Err(NodeError::Invalid(format!(
                        "the hub no longer accepts this node: {message}"
                    )));
                }
                Err(e) => {
                    tracing::error!(node = %self.identity.info.name, error = %e, "work loop error");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Tells the hub which datasets this node holds (schemas only) and which policy
    /// is in force (its hash).
    async fn announce(&self, policy: &NodePolicy, policy_hash: &str) -> Result<(), NodeError> {
        for d in self.store.datasets().await? {
            let body = DatasetAnnouncement {
                name: d.name.clone(),
                schema: d.schema.clone(),
                min_cell_count: policy.min_cell_count,
                policy_sha256: Some(policy_hash.to_string()),
            };
            let _: serde_json::Value = self.client.post("/node/datasets", &body).await?;
        }
        Ok(())
    }

    /// Sends the hashes of consent receipts the hub has not yet logged.
    async fn report_consent_receipts(&self) -> Result<(), NodeError> {
        let pending = crate::consent::unreported(&self.store).await?;
        if pending.is_empty() {
            return Ok(());
        }
        let body = salus_wire::ConsentReceiptReport {
            receipts: pending
                .iter()
                .map(|p| salus_wire::ConsentReceiptRef {
                    sequence: p.sequence,
                    hash: p.hash.clone(),
                })
                .collect(),
        };
        let _: serde_json::Value = self.client.post("/node/consent-receipts", &body).await?;
        let rows: Vec<i64> = pending.iter().map(|p| p.row).collect();
        crate::consent::mark_reported(&self.store, &rows).await
    }

    async fn send_decisions(&self) -> Result<(), NodeError> {
        let policy = self.store.policy().await?;
        for s in self.store.unsent_decisions().await? {
            let approve = s.state == "approved";
            let refusal = (!approve).then(|| {
                serde_json::from_str::<Refusal>(s.reason.as_deref().unwrap_or("")).unwrap_or_else(
                    |_| Refusal {
                        rule: "steward".into(),
                        message: s
                            .reason
                            .clone()
                            .unwrap_or_else(|| "the data steward refused".into()),
                    },
                )
            });
            let remaining_rho = match (&s.spec.dp, approve) {
                (Some(_), true) => Some(
                    policy.privacy_budget_rho
                        - self.store.spent_rho(&s.spec.dataset, &s.researcher).await?,
                ),
                _ => None,
            };
            let body = Decision {
                approve,
                refusal,
                min_cell_count: policy.min_cell_count,
                remaining_rho,
            };
            match self
                .client
                .post::<_, serde_json::Value>(
                    &format!("/node/studies/{}/decision", s.study_id),
                    &body,
                )
                .await
            {
                Ok(_) => {}
                // Already recorded (a retry after a lost answer) or the study is gone.
                Err(NetError::Api {
                    status: 404 | 409 | 410,
                    ..
                }) => {}
                Err(e) => return Err(e.into()),
            }
            self.store.mark_decision_sent(&s.study_id).await?;
        }
        Ok(())
    }

    async fn poll_once(&mut self) -> Result<(), NodeError> {
        let path = format!(
            "/node/poll?epoch={}&after={}&wait_ms={}&witnessed={}",
            self.epoch,
            self.after,
            POLL_WAIT.as_millis(),
            crate::witness::witnessed_size(&self.store).await?
        );
        let resp: PollResponse = self
            .client
            .get_with_timeout(&path, POLL_WAIT + Duration::from_secs(15))
            .await?;
        if resp.epoch != self.epoch {
            // The hub restarted: sessions of the old process can never complete.
            self.sessions.clear();
        }
        self.epoch = resp.epoch;
        // Witness the audit log; a hub caught forking its history gets no more work.
        if crate::witness::refuse_work(
            &self.store,
            &self.identity,
            &self.client,
            resp.checkpoint.as_ref(),
        )
        .await?
        {
            self.sessions.clear();
            self.after = resp.last_seq;
            return Ok(());
        }
        for item in resp.items {
            if let Err(e) = self.handle(item).await {
                if matches!(&e, NodeError::Net(n) if n.is_transient()) {
                    return Err(e);
                }
                tracing::warn!(node = %self.identity.info.name, error = %e, "work item failed");
            }
        }
        self.after = resp.last_seq;
        Ok(())
    }

    async fn handle(&mut self, item: WorkItem) -> Result<(), NodeError> {
        match item {
            WorkItem::Offer(o) => self.on_offer(o).await,
            WorkItem::Round(t) => self.on_round(t).await,
            WorkItem::Protocol(env) => self.on_protocol(env).await,
            WorkItem::Closed { study_id, status } => {
                self.sessions.retain(|(s, _, _), _| s != &study_id);
                if self.store.study(&study_id).await.is_ok() {
                    self.store.set_study_state(&study_id, &status).await?;
                }
                Ok(())
            }
        }
    }

    /// Policy decision on an offered study.
    async fn on_offer(&mut self, o: StudyOffer) -> Result<(), NodeError> {
        if self.store.study(&o.study_id).await.is_ok() {
            return Ok(());
        }
        let policy = self.store.policy().await?;
        let (state, reason) = match self.check_offer(&o, &policy).await {
            Err(refusal) => (
                "refused",
                Some(
                    serde_json::to_string(&refusal)
                        .map_err(|e| NodeError::Corrupt(e.to_string()))?,
                ),
            ),
            Ok(()) if policy.approval == Approval::Manual => ("pending", None),
            Ok(()) => ("pending", None),
        };
        tracing::info!(node = %self.identity.info.name, study = %o.study_id, state, "study offered");
        self.store
            .offer(
                &o.study_id,
                &o.spec,
                &o.researcher,
                &o.organisation,
                state,
                reason.as_deref(),
            )
            .await?;
        if reason.is_none() && policy.approval != Approval::Manual {
            approve_study(&self.store, &o.study_id).await?;
        }
        self.send_decisions().await
    }

    async fn check_offer(&self, o: &StudyOffer, policy: &NodePolicy) -> Result<(), Refusal> {
        let dataset = self
            .store
            .dataset(&o.spec.dataset)
            .await
            .map_err(|_| Refusal {
                rule: "dataset".into(),
                message: format!("this node holds no dataset `{}`", o.spec.dataset),
            })?;
        policy.check_study(&o.spec, &o.researcher, &o.organisation)?;
        StudyPlan::new(&o.spec, &dataset.schema).map_err(|e| Refusal {
            rule: "spec".into(),
            message: e.to_string(),
        })?;
        Ok(())
    }

    /// Computes the round's contribution and starts the protection session.
    async fn on_round(&mut self, task: RoundTask) -> Result<(), NodeError> {
        let key = (task.study_id.clone(), task.request.round, task.attempt);
        if self.sessions.contains_key(&key) {
            return Ok(());
        }
        let study = self.store.study(&task.study_id).await?;
        if study.state != "approved" {
            return Ok(());
        }
        let values = match self.compute(&study, &task).await {
            Ok(v) => v,
            Err(failure) => {
                let _: serde_json::Value = self
                    .client
                    .post(
                        &format!("/node/studies/{}/failure", task.study_id),
                        &failure,
                    )
                    .await?;
                return Ok(());
            }
        };
        // Older rounds/attempts of this study can never complete now.
        self.sessions.retain(|(s, _, _), _| s != &task.study_id);
        let params = NodeSessionParams {
            session: SessionParams {
                session_id: format!("{}/{}/{}", task.study_id, task.request.round, task.attempt),
                participants: task.participants.clone(),
                threshold: task.protection.threshold,
                layout: task.request.layout.clone(),
                deadline_ms: 0,
                dp: task.protection.dp.clone(),
                researcher_key: task.protection.researcher_key.clone(),
            },
            node_id: self.identity.info.node_id.clone(),
            identity_seed: self.identity_seed,
            noise_seed: self.noise_seed(&task.study_id, task.request.round),
            fresh_seed: rand::random(),
        };
        let mut session =
            (self.factory)(&task.protection.mode, &params, values).map_err(NodeError::Invalid)?;
        let first = session.start().map_err(NodeError::Invalid)?;
        self.sessions.insert(key.clone(), session);
        self.send_protocol(&key, first).await
    }

    async fn on_protocol(&mut self, env: ProtocolEnvelope) -> Result<(), NodeError> {
        let key = (env.study_id.clone(), env.round, env.attempt);
        let Some(session) = self.sessions.get_mut(&key) else {
            return Ok(());
        };
        let replies = session.handle(env.body).map_err(NodeError::Invalid)?;
        self.send_protocol(&key, replies).await
    }

    async fn send_protocol(
        &mut self,
        key: &SessionKey,
        bodies: Vec<serde_json::Value>,
    ) -> Result<(), NodeError> {
        for body in bodies {
            let env = ProtocolEnvelope {
                study_id: key.0.clone(),
                round: key.1,
                attempt: key.2,
                body,
            };
            match self
                .client
                .post::<_, serde_json::Value>("/node/messages", &env)
                .await
            {
                Ok(_) => {}
                Err(NetError::Api { status: 410, .. }) => {
                    self.sessions.remove(key);
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The node's contribution, or the refusal/failure to report.
    async fn compute(
        &mut self,
        study: &NodeStudy,
        task: &RoundTask,
    ) -> Result<Vec<f64>, NodeFailure> {
        let fail = |refusal: Option<Refusal>, message: String| NodeFailure {
            round: task.request.round,
            attempt: task.attempt,
            refusal,
            message,
        };
        let plain = |e: NodeError| fail(None, e.to_string());
        let policy = self.store.policy().await.map_err(plain)?;
        let record = self
            .store
            .dataset(&study.spec.dataset)
            .await
            .map_err(plain)?;
        let table = self.table(&record).map_err(plain)?;
        let cohort = self
            .cohort(study, &table, &policy)
            .await
            .map_err(|e| match e {
                CohortError::Refused(r) => fail(Some(r), String::new()),
                CohortError::Other(e) => plain(e),
            })?;
        contribute(&study.spec, &record.schema, &task.request, &cohort).map_err(|e| plain(e.into()))
    }

    fn table(&mut self, record: &crate::store::DatasetRecord) -> Result<Arc<Table>, NodeError> {
        if let Some((sum, t)) = self.tables.get(&record.name)
            && sum == &record.sha256
        {
            return Ok(t.clone());
        }
        let t = Arc::new(datasets::load(record)?);
        self.tables
            .insert(record.name.clone(), (record.sha256.clone(), t.clone()));
        Ok(t)
    }

    /// The study's cohort: frozen at its first round (filter, consent, disclosure and
    /// differencing checks), reused unchanged by every later round and re-run.
    async fn cohort<'t>(
        &self,
        study: &NodeStudy,
        table: &'t Table,
        policy: &NodePolicy,
    ) -> Result<Cohort<'t>, CohortError> {
        if let (Some(bits), Some(excluded)) = (&study.cohort, study.consent_excluded) {
            return Ok(Cohort {
                table,
                rows: unpack_bits(bits, table.nrows()),
                consent_excluded: excluded as u64,
            });
        }
        let record = self
            .store
            .dataset(&study.spec.dataset)
            .await
            .map_err(CohortError::Other)?;
        let consent = self
            .consent_for(study, table, &record.schema, policy)
            .await?;
        let cohort = Cohort::select(table, &study.spec.cohort, |i| consent.permits(i))
            .map_err(|e| CohortError::Other(e.into()))?;
        let parameters = salus_study::plan::parameter_count(&study.spec, &record.schema);
        policy
            .check_cohort(cohort.len(), parameters)
            .map_err(CohortError::Refused)?;
        let bits = pack_bits(&cohort.rows);
        let earlier = self
            .store
            .earlier_cohorts(&study.spec.dataset, &study.researcher, &study.study_id)
            .await
            .map_err(CohortError::Other)?;
        for e in earlier {
            let d = symmetric_difference(&bits, &e);
            if d > 0 && d < policy.min_cell_count {
                return Err(CohortError::Refused(Refusal {
                    rule: "differencing".into(),
                    message: format!(
                        "this cohort differs from one of your earlier cohorts on `{}` by fewer than {} patients, which could reveal them by subtraction; widen the difference or reuse the earlier cohort",
                        study.spec.dataset, policy.min_cell_count
                    ),
                }));
            }
        }
        self.store
            .freeze_cohort(study, &bits, cohort.consent_excluded)
            .await
            .map_err(CohortError::Other)?;
        Ok(cohort)
    }

    /// Consent of every row's patient to this study's use, evaluated now. A node that
    /// cannot evaluate consent (no patient key, an unknown purpose) refuses the study.
    async fn consent_for(
        &self,
        study: &NodeStudy,
        table: &Table,
        schema: &salus_core::schema::DatasetSchema,
        policy: &NodePolicy,
    ) -> Result<crate::consent::CohortConsent, CohortError> {
        let refuse = |e: NodeError| {
            CohortError::Refused(Refusal {
                rule: "consent".into(),
                message: e.to_string(),
            })
        };
        let records = crate::consent::records(&self.store)
            .await
            .map_err(CohortError::Other)?;
        let registry = crate::consent::registry(records, policy.consent_default)
            .map_err(CohortError::Other)?;
        let wanted = crate::consent::StudyUse::of(&study.spec, schema).map_err(refuse)?;
        crate::consent::CohortConsent::evaluate(
            &registry,
            table,
            schema,
            &wanted,
            crate::consent::now_seconds(),
        )
        .map_err(refuse)
    }

    /// Per-round secret for DP noise: the same on every re-run of a round, so a re-run
    /// gives the hub no second noisy sample.
    fn noise_seed(&self, study_id: &str, round: u32) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"salus/noise-seed/v1");
        h.update(self.identity_seed);
        h.update(study_id.as_bytes());
        h.update(round.to_be_bytes());
        h.finalize().into()
    }
}

enum CohortError {
    Refused(Refusal),
    Other(NodeError),
}

/// SHA-256 of a policy (its JSON), announced so the hub's log records policy changes.
fn policy_hash(policy: &NodePolicy) -> Result<String, NodeError> {
    let json = serde_json::to_vec(policy).map_err(|e| NodeError::Corrupt(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(&json)))
}

/// Approves a pending study (the policy's automatic approval or the steward's): a DP
/// study is first charged against the (dataset, researcher) privacy budget, and is
/// refused with rule `privacy-budget` when the charge does not fit.
pub async fn approve_study(store: &NodeStore, study_id: &str) -> Result<(), NodeError> {
    let study = store.study(study_id).await?;
    let Some(dp) = &study.spec.dp else {
        return store.decide(study_id, true, None).await;
    };
    let policy = store.policy().await?;
    let rho = salus_dp::zcdp::epsilon_delta_to_rho(dp.epsilon, dp.delta)
        .map_err(|e| NodeError::Invalid(format!("the study's [dp] parameters: {e}")))?;
    match store
        .charge_rho(
            study_id,
            &study.spec.dataset,
            &study.researcher,
            rho,
            policy.privacy_budget_rho,
        )
        .await?
    {
        Ok(_) => store.decide(study_id, true, None).await,
        Err(left) => {
            let refusal = Refusal {
                rule: "privacy-budget".into(),
                message: format!(
                    "the study needs rho {rho:.4} (epsilon {}, delta {}) but researcher `{}` has only \
                     rho {left:.4} left on dataset `{}`; ask for a smaller epsilon or a budget increase",
                    dp.epsilon, dp.delta, study.researcher, study.spec.dataset
                ),
            };
            let reason =
                serde_json::to_string(&refusal).map_err(|e| NodeError::Corrupt(e.to_string()))?;
            store.decide(study_id, false, Some(&reason)).await
        }
    }
}
