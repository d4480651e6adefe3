//! Operations on many connections of a stage at once (broadcast, listing, logging a user out
//! everywhere) and their outcomes: plain data, applied by every node to its own connections and
//! merged by the node that was called (docs/groups.md).

use super::group::GroupName;
use super::op::{ConnectionSnapshot, Payload};
use serde::{Deserialize, Serialize};
use switchboard_core::ids::AwsId;

/// The API and stage an operation addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// `apiId`.
    pub api_id: String,
    /// Stage name.
    pub stage: String,
}

/// Which connections of a stage (none set: all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Only members of this group.
    pub group: Option<GroupName>,
    /// Only connections of this user (`principalId`).
    pub user: Option<String>,
}

/// What a caller asks of many connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum StageOp {
    /// Queue one message on every matching connection but the excluded ones.
    Broadcast {
        /// Where.
        scope: Scope,
        /// Who.
        filter: Filter,
        /// Connections left out (the sender, typically).
        exclude: Vec<AwsId>,
        /// What; one body shared by every member.
        payload: Payload,
    },
    /// A page of matching connections, in id order, after `after`.
    List {
        /// Where.
        scope: Scope,
        /// Who.
        filter: Filter,
        /// The last id of the previous page.
        after: Option<AwsId>,
        /// Page size.
        limit: usize,
    },
    /// Close every matching connection (close code 1000, as `DELETE @connections/{id}`).
    Disconnect {
        /// Where.
        scope: Scope,
        /// Who.
        filter: Filter,
    },
}

impl StageOp {
    /// The operation's name (metric labels, logs).
    pub fn name(&self) -> &'static str {
        match self {
            StageOp::Broadcast { .. } => "Broadcast",
            StageOp::List { .. } => "ListConnections",
            StageOp::Disconnect { .. } => "DisconnectConnections",
        }
    }
}

/// What one node (or the merge of several) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum StageOutcome {
    /// A broadcast or disconnect: how many connections it reached.
    Tally {
        /// Queued (or asked to close).
        queued: u64,
        /// Left out because their outbound queue was full.
        skipped: u64,
    },
    /// A page of a listing.
    Page {
        /// In id order, at most `limit`.
        entries: Vec<ConnectionSnapshot>,
        /// Whether matching connections remain after the last entry.
        more: bool,
        /// How many connections match in all (not only on this page).
        total: u64,
    },
}

impl StageOutcome {
    /// The empty answer of `op` (a node with nothing to report).
    pub fn empty(op: &StageOp) -> Self {
        match op {
            StageOp::List { .. } => StageOutcome::Page {
                entries: Vec::new(),
                more: false,
                total: 0,
            },
            _ => StageOutcome::Tally {
                queued: 0,
                skipped: 0,
            },
        }
    }

    /// Merges the answers of several nodes: tallies add up; pages are merged in id order and
    /// cut where no node's unsent entries can fall before the cut (at the lowest last id of a
    /// page that has more), then at `limit`. So walking the pages returns every connection
    /// that stays open exactly once, however each node cut its own page.
    pub fn merge(op: &StageOp, answers: Vec<StageOutcome>) -> Self {
        let limit = match op {
            StageOp::List { limit, .. } => *limit,
            _ => usize::MAX,
        };
        let mut merged = Self::empty(op);
        let mut cut: Option<AwsId> = None;
        for answer in answers {
            match (&mut merged, answer) {
                (
                    StageOutcome::Tally { queued, skipped },
                    StageOutcome::Tally {
                        queued: q,
                        skipped: s,
                    },
                ) => {
                    *queued += q;
                    *skipped += s;
                }
                (
                    StageOutcome::Page {
                        entries,
                        more,
                        total,
                    },
                    StageOutcome::Page {
                        entries: e,
                        more: m,
                        total: t,
                    },
                ) => {
                    if m {
                        let last = e.last().map(|x| x.info.connection_id);
                        cut = match (cut, last) {
                            (Some(c), Some(l)) => Some(c.min(l)),
                            (c, l) => c.or(l),
                        };
                    }
                    entries.extend(e);
                    *more |= m;
                    *total += t;
                }
                _ => {}
            }
        }
        if let StageOutcome::Page { entries, more, .. } = &mut merged {
            entries.sort_by_key(|e| e.info.connection_id);
            if let Some(cut) = cut {
                entries.retain(|e| e.info.connection_id <= cut);
            }
            if entries.len() > limit {
                entries.truncate(limit);
                *more = true;
            }
        }
        merged
    }
}

/// The merged answer of every node asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered {
    /// The merged outcome.
    pub outcome: StageOutcome,
    /// Nodes asked (this one included).
    pub nodes_asked: usize,
    /// Nodes that answered in time (this one included).
    pub nodes_answered: usize,
}

impl Gathered {
    /// Whether every node asked answered.
    pub fn complete(&self) -> bool {
        self.nodes_answered == self.nodes_asked
    }
}

/// What the other nodes of a cluster answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FanOut {
    /// Other nodes asked.
    pub asked: usize,
    /// The answers of those that answered in time.
    pub answers: Vec<StageOutcome>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::ids::NodeTag;

    fn entry(id: AwsId) -> ConnectionSnapshot {
        ConnectionSnapshot {
            info: super::super::test_support::info(id),
            last_active_at: 1,
            groups: Vec::new(),
            user: None,
        }
    }

    fn list(limit: usize) -> StageOp {
        StageOp::List {
            scope: Scope {
                api_id: "chat".into(),
                stage: "dev".into(),
            },
            filter: Filter {
                group: None,
                user: None,
            },
            after: None,
            limit,
        }
    }

    #[test]
    fn pages_of_several_nodes_merge_in_id_order_and_cut_at_the_limit() {
        let mut ids: Vec<AwsId> = (0..4).map(|n| AwsId::connection(NodeTag(n))).collect();
        let page = |ids: &[AwsId], more| StageOutcome::Page {
            entries: ids.iter().copied().map(entry).collect(),
            more,
            total: ids.len() as u64,
        };
        let merged = StageOutcome::merge(
            &list(3),
            vec![page(&ids[..2], false), page(&ids[2..], false)],
        );
        ids.sort();
        match merged {
            StageOutcome::Page {
                entries,
                more,
                total,
            } => {
                let got: Vec<AwsId> = entries.iter().map(|e| e.info.connection_id).collect();
                assert_eq!(got, ids[..3]);
                assert!(more);
                assert_eq!(total, 4);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_node_that_cut_its_page_short_cuts_the_merged_page_too() {
        let mut ids: Vec<AwsId> = (0..4).map(|n| AwsId::connection(NodeTag(n))).collect();
        ids.sort();
        let page = |ids: &[AwsId], more| StageOutcome::Page {
            entries: ids.iter().copied().map(entry).collect(),
            more,
            total: 9,
        };
        // Node one sent only its first entry (ids[0]) of several; node two sent ids[1..].
        let merged = StageOutcome::merge(
            &list(10),
            vec![page(&ids[..1], true), page(&ids[1..], false)],
        );
        match merged {
            StageOutcome::Page { entries, more, .. } => {
                assert_eq!(entries.len(), 1, "nothing after node one's last sent id");
                assert!(more);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tallies_add_up() {
        let op = StageOp::Disconnect {
            scope: Scope {
                api_id: "a".into(),
                stage: "s".into(),
            },
            filter: Filter {
                group: None,
                user: Some("u".into()),
            },
        };
        let t = |queued, skipped| StageOutcome::Tally { queued, skipped };
        assert_eq!(StageOutcome::merge(&op, vec![t(1, 2), t(3, 4)]), t(4, 6));
    }
}
