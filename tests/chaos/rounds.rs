//! The round loop every load-bearing chaos scenario is run by: a scenario is data (a name and a
//! fault), this loop is the only place that decides when the fault hits and what is verified.

use crate::harness::*;
use uuid::Uuid;

/// The load of one round: each fault is injected a third of the way into its own round, so
/// that it always hits a running load (a single long load could be over before a late round).
fn round_load(c: &Cluster) -> Load {
    c.start_load(commands().div_ceil(rounds()))
}

/// What a fault added to a round besides its load: commands it sent itself, poison it injected.
#[derive(Default)]
pub(crate) struct Injected {
    pub(crate) accepted: Vec<Uuid>,
    pub(crate) poison: Vec<String>,
}

impl Injected {
    pub(crate) fn accepted(ids: impl IntoIterator<Item = Uuid>) -> Self {
        Self {
            accepted: ids.into_iter().collect(),
            ..Self::default()
        }
    }
}

/// The round loop every load-bearing scenario shares: a fresh namespace with 2 APIs and
/// 3 workers; per round a load of CHAOS_COMMANDS / CHAOS_ROUNDS registrations with `fault`
/// injected once a third of it is accepted; then every invariant (`Cluster::verify`).
pub(crate) async fn scenario(
    name: &str,
    mut fault: impl AsyncFnMut(&mut Cluster, &Load, usize) -> Injected,
) {
    let mut c = Cluster::start(name).await;
    let mut all = LoadResult::default();
    let mut poison = Vec::new();
    for round in 0..rounds() {
        let load = round_load(&c);
        load.reached(1.0 / 3.0).await;
        let injected = fault(&mut c, &load, round).await;
        all.accepted.extend(injected.accepted);
        poison.extend(injected.poison);
        all.merge(load.finish().await);
    }
    c.verify(all, &poison).await;
    c.cleanup().await;
}
