//! The state shared by the API server and the controllers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::platform::Topology;
use crate::scenario::Scenario;
use crate::storage::{Key, Store};

/// Everything one sandbox holds.
pub struct State {
    /// The objects.
    pub store: Store,
    /// The scenario (faults and databases can change at run time).
    pub scenario: RwLock<Scenario>,
    /// The platform and nodes the scenario describes (fixed for the sandbox's life).
    pub topology: Topology,
    /// Controller-private simulation state (pod runtimes, logs, sealing key).
    pub sim: Mutex<SimState>,
    /// API requests served (excluding the `/sandbox` test API).
    pub requests: AtomicU64,
    /// Counter for uids and generated names.
    pub serial: AtomicU64,
    /// Server-side apply: the last configuration each field manager applied to each object,
    /// so a later apply by the same manager removes the fields it no longer sets.
    pub applied: Mutex<BTreeMap<(Key, String), Value>>,
}

impl State {
    /// A fresh state for `scenario`.
    pub fn new(scenario: Scenario) -> Self {
        State {
            store: Store::new(),
            topology: Topology::of(&scenario),
            scenario: RwLock::new(scenario),
            sim: Mutex::new(SimState::default()),
            requests: AtomicU64::new(0),
            serial: AtomicU64::new(1),
            applied: Mutex::new(BTreeMap::new()),
        }
    }

    /// A read guard on the scenario.
    pub fn scenario(&self) -> std::sync::RwLockReadGuard<'_, Scenario> {
        self.scenario.read().unwrap_or_else(|p| p.into_inner())
    }

    /// A write guard on the scenario.
    pub fn scenario_mut(&self) -> std::sync::RwLockWriteGuard<'_, Scenario> {
        self.scenario.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Lock the simulation state.
    pub fn sim(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.sim.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new unique id (uuid-shaped).
    pub fn uid(&self) -> String {
        let n = self.serial.fetch_add(1, Ordering::Relaxed);
        let r: u64 = rand::random();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (r >> 32) as u32,
            (r >> 16) as u16,
            n & 0xfff,
            (r >> 4) & 0xfff,
            n
        )
    }

    /// A random lowercase alphanumeric suffix of `len` characters (generateName).
    pub fn suffix(&self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()] as char)
            .collect()
    }
}

/// Controller-private simulation state.
#[derive(Default)]
pub struct SimState {
    /// Pod runtimes keyed by pod uid.
    pub pods: HashMap<String, crate::node::PodRuntime>,
    /// Pod IPs handed out so far, per node.
    pub next_ip: HashMap<String, u32>,
    /// Event aggregation.
    pub events: crate::events::Recorder,
    /// The sealed-secrets controller's keys, once generated or loaded.
    pub sealing: Option<Arc<crate::addons::sealed_secrets::KeyRegistry>>,
    /// Why key generation failed, if it did.
    pub sealing_error: Option<String>,
    /// Images on the nodes beyond the scenario's (preloaded or pulled): references.
    pub extra_images: HashSet<String>,
    /// EndpointSlice names by `namespace/service`.
    pub slices: HashMap<String, String>,
    /// Endpoints objects this controller manages (`namespace/name`).
    pub managed_endpoints: HashSet<String>,
    /// SealedSecrets processed: uid → (generation, secret resourceVersion written).
    pub unsealed: HashMap<String, (i64, String)>,
    /// Round-robin counter for the service proxy.
    pub proxy_rr: usize,
    /// Whether the garbage collector should run (an object was deleted).
    pub gc_due: bool,
    /// Inputs of each Service's endpoints at the last sync (`namespace/name` → hash).
    pub endpoint_fingerprints: HashMap<String, u64>,
}

/// Now, RFC 3339 with seconds, as Kubernetes writes timestamps.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
