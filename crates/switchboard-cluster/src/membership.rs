//! Node leases as each node sees them: who is alive, who fell silent long enough to be
//! claimed, who is known dead. Pure: time is passed in, so the rules are unit-tested.
//!
//! Silence is measured on this node's own monotonic clock, from the moment it last saw a
//! node's record change, and reset for everyone when this node's own link comes back (a node
//! that could not see updates must not conclude that others stopped sending them).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use switchboard_core::ids::NodeTag;
use tokio::time::Instant;

/// A node's lease record, the value of its key in the nodes bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    /// Where the node is in its life.
    pub state: NodeState,
    /// Its `nodeName`, for logs and `$disconnect` reasons.
    pub node_name: String,
    /// The node running its takeover, once claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// Renewals so far (changes the value on every heartbeat).
    #[serde(default)]
    pub beat: u64,
}

/// Where a node is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Serving, renewing its lease.
    Alive,
    /// Shutting down on a signal, running its own `$disconnect`s; still renewing.
    Leaving,
    /// Silent too long: another node (`claimedBy`) runs its `$disconnect`s and renews this
    /// record while it does.
    Claimed,
    /// Finished: every connection of it has had its `$disconnect`.
    Dead,
}

impl NodeRecord {
    /// The record of a node serving under `name`.
    pub fn alive(name: &str) -> Self {
        Self {
            state: NodeState::Alive,
            node_name: name.to_owned(),
            claimed_by: None,
            beat: 0,
        }
    }

    /// This record, renewed.
    pub fn renewed(&self) -> Self {
        Self {
            beat: self.beat.wrapping_add(1),
            ..self.clone()
        }
    }
}

/// One node as last seen.
#[derive(Debug, Clone)]
struct Seen {
    record: NodeRecord,
    revision: u64,
    changed_at: Instant,
}

/// A node that may be claimed now: its tag and the revision a claim must replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimable {
    /// The silent node.
    pub tag: NodeTag,
    /// Its record's revision, for the compare-and-set.
    pub revision: u64,
    /// Its record as last seen.
    pub record: NodeRecord,
}

/// Every node's lease, as this node sees it.
#[derive(Debug)]
pub struct Membership {
    me: NodeTag,
    nodes: HashMap<NodeTag, Seen>,
}

impl Membership {
    /// An empty view for the node `me`.
    pub fn new(me: NodeTag) -> Self {
        Self {
            me,
            nodes: HashMap::new(),
        }
    }

    /// A record changed (or was removed: `None`).
    pub fn observe(&mut self, tag: NodeTag, change: Option<(NodeRecord, u64)>, now: Instant) {
        match change {
            Some((record, revision)) => {
                self.nodes.insert(
                    tag,
                    Seen {
                        record,
                        revision,
                        changed_at: now,
                    },
                );
            }
            None => {
                self.nodes.remove(&tag);
            }
        }
    }

    /// This node's link came back: nobody's silence counts from before.
    pub fn reset_silence(&mut self, now: Instant) {
        for seen in self.nodes.values_mut() {
            seen.changed_at = now;
        }
    }

    /// Nodes silent for at longer than `lease` that have not finished: alive or leaving ones
    /// that stopped renewing, and claimed ones whose claimer stopped renewing their record (it
    /// died mid-way; its work is resumed).
    pub fn claimable(&self, now: Instant, lease: Duration) -> Vec<Claimable> {
        let mut out: Vec<Claimable> = self
            .nodes
            .iter()
            .filter(|(tag, seen)| {
                **tag != self.me
                    && seen.record.state != NodeState::Dead
                    && now.saturating_duration_since(seen.changed_at) > lease
            })
            .map(|(tag, seen)| Claimable {
                tag: *tag,
                revision: seen.revision,
                record: seen.record.clone(),
            })
            .collect();
        out.sort_by_key(|c| c.tag);
        out
    }

    /// Whether `tag` is known to be gone for good (claimed or dead): its ids are 410 at once.
    pub fn is_gone(&self, tag: NodeTag) -> bool {
        self.nodes
            .get(&tag)
            .is_some_and(|s| matches!(s.record.state, NodeState::Claimed | NodeState::Dead))
    }

    /// How long `tag` has been silent (since its record last changed, or since this node's
    /// link came back); `None` for a node this one has never seen.
    pub fn silence(&self, tag: NodeTag, now: Instant) -> Option<Duration> {
        self.nodes
            .get(&tag)
            .map(|s| now.saturating_duration_since(s.changed_at))
    }

    /// Nodes serving (alive or leaving) whose lease is current.
    pub fn live(&self, now: Instant, lease: Duration) -> usize {
        self.live_tags(now, lease).len()
    }

    /// The tags of the nodes serving whose lease is current, in order.
    pub fn live_tags(&self, now: Instant, lease: Duration) -> Vec<NodeTag> {
        let mut tags: Vec<NodeTag> = self
            .nodes
            .iter()
            .filter(|(_, s)| {
                matches!(s.record.state, NodeState::Alive | NodeState::Leaving)
                    && now.saturating_duration_since(s.changed_at) <= lease
            })
            .map(|(tag, _)| *tag)
            .collect();
        tags.sort();
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn alive(name: &str, beat: u64) -> NodeRecord {
        NodeRecord {
            beat,
            ..NodeRecord::alive(name)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_is_claimable_only_after_a_whole_lease_of_silence() {
        let (me, other) = (NodeTag(1), NodeTag(2));
        let mut m = Membership::new(me);
        let t0 = Instant::now();
        m.observe(me, Some((alive("a", 0), 1)), t0);
        m.observe(other, Some((alive("b", 0), 2)), t0);
        assert!(m.claimable(t0 + LEASE, LEASE).is_empty(), "not yet");
        // A renewal restarts its lease.
        m.observe(
            other,
            Some((alive("b", 1), 3)),
            t0 + Duration::from_secs(10),
        );
        assert!(m.claimable(t0 + Duration::from_secs(20), LEASE).is_empty());
        let later = t0 + Duration::from_secs(26);
        assert_eq!(
            m.claimable(later, LEASE),
            vec![Claimable {
                tag: other,
                revision: 3,
                record: alive("b", 1)
            }],
            "never itself"
        );
        assert_eq!(m.live(later, LEASE), 0);
        // Our own link was down: silence counts again from now.
        m.reset_silence(later);
        assert!(m.claimable(later, LEASE).is_empty());
        assert_eq!(m.live(later, LEASE), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn claimed_work_is_resumed_if_its_claimer_falls_silent_and_dead_nodes_stay_dead() {
        let mut m = Membership::new(NodeTag(1));
        let t0 = Instant::now();
        let claimed = NodeRecord {
            state: NodeState::Claimed,
            claimed_by: Some("00000003".into()),
            ..NodeRecord::alive("b")
        };
        m.observe(NodeTag(2), Some((claimed, 7)), t0);
        let dead = NodeRecord {
            state: NodeState::Dead,
            ..NodeRecord::alive("c")
        };
        m.observe(NodeTag(4), Some((dead, 8)), t0);
        assert!(m.is_gone(NodeTag(2)) && m.is_gone(NodeTag(4)));
        assert!(!m.is_gone(NodeTag(9)), "unknown is not gone: NATS decides");
        let tags: Vec<NodeTag> = m
            .claimable(t0 + LEASE * 2, LEASE)
            .iter()
            .map(|c| c.tag)
            .collect();
        assert_eq!(tags, [NodeTag(2)]);
        m.observe(NodeTag(2), None, t0);
        assert!(m.claimable(t0 + LEASE * 2, LEASE).is_empty());
    }
}
