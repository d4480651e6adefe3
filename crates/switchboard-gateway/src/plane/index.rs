//! Who is in which group, and whose connection is whose, on this node: ids kept in order per
//! stage, so a listing pages by id and a broadcast finds its members without a scan.

use super::group::{GroupName, MAX_GROUPS_PER_CONNECTION, MAX_GROUPS_PER_STAGE};
use super::op::GroupLimit;
use super::stage_op::Filter;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use switchboard_core::context::ConnectionInfo;
use switchboard_core::ids::AwsId;

/// The connections of one stage.
#[derive(Debug, Default)]
struct StageIndex {
    all: BTreeSet<AwsId>,
    groups: HashMap<GroupName, BTreeSet<AwsId>>,
    users: HashMap<String, BTreeSet<AwsId>>,
}

/// What the index knows of one connection.
#[derive(Debug)]
struct Member {
    api_id: String,
    stage: String,
    user: Option<String>,
    groups: BTreeSet<GroupName>,
}

/// Groups and users of this node's connections.
#[derive(Debug, Default)]
pub struct Index {
    stages: HashMap<String, HashMap<String, StageIndex>>,
    members: HashMap<AwsId, Member>,
}

/// A connection's user: the authorizer's `principalId` (REQUEST or JWT authorizer), else the
/// IAM caller's ARN.
pub fn principal(info: &ConnectionInfo) -> Option<String> {
    info.authorizer
        .as_ref()
        .and_then(|a| a.get("principalId"))
        .and_then(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .or_else(|| info.caller.user_arn.clone())
}

impl Index {
    /// A new connection, in no group yet.
    pub fn insert(&mut self, info: &ConnectionInfo) {
        let id = info.connection_id;
        let user = principal(info);
        let stage = self.stage_mut(&info.api_id, &info.stage);
        stage.all.insert(id);
        if let Some(user) = &user {
            stage.users.entry(user.clone()).or_default().insert(id);
        }
        self.members.insert(
            id,
            Member {
                api_id: info.api_id.clone(),
                stage: info.stage.clone(),
                user,
                groups: BTreeSet::new(),
            },
        );
    }

    /// A connection is gone: it leaves every group.
    pub fn remove(&mut self, id: &AwsId) {
        let Some(member) = self.members.remove(id) else {
            return;
        };
        let Some(stages) = self.stages.get_mut(&member.api_id) else {
            return;
        };
        if let Some(stage) = stages.get_mut(&member.stage) {
            stage.all.remove(id);
            for group in &member.groups {
                remove_from(&mut stage.groups, group, id);
            }
            if let Some(user) = &member.user {
                remove_from(&mut stage.users, user, id);
            }
            if stage.all.is_empty() {
                stages.remove(&member.stage);
            }
        }
        if stages.is_empty() {
            self.stages.remove(&member.api_id);
        }
    }

    /// Adds `id` to `group` (already a member: nothing changes).
    pub fn join(&mut self, id: &AwsId, group: &GroupName) -> Result<(), GroupLimit> {
        let Some(member) = self.members.get_mut(id) else {
            return Ok(());
        };
        if member.groups.contains(group) {
            return Ok(());
        }
        if member.groups.len() >= MAX_GROUPS_PER_CONNECTION {
            return Err(GroupLimit::PerConnection);
        }
        let stage = self
            .stages
            .get_mut(&member.api_id)
            .and_then(|s| s.get_mut(&member.stage));
        let Some(stage) = stage else {
            return Ok(());
        };
        if !stage.groups.contains_key(group) && stage.groups.len() >= MAX_GROUPS_PER_STAGE {
            return Err(GroupLimit::PerStage);
        }
        stage.groups.entry(group.clone()).or_default().insert(*id);
        member.groups.insert(group.clone());
        Ok(())
    }

    /// Removes `id` from `group` (not a member: nothing changes).
    pub fn leave(&mut self, id: &AwsId, group: &GroupName) {
        let Some(member) = self.members.get_mut(id) else {
            return;
        };
        if !member.groups.remove(group) {
            return;
        }
        if let Some(stage) = self
            .stages
            .get_mut(&member.api_id)
            .and_then(|s| s.get_mut(&member.stage))
        {
            remove_from(&mut stage.groups, group, id);
        }
    }

    /// The groups of `id`, in name order.
    pub fn groups_of(&self, id: &AwsId) -> Vec<GroupName> {
        self.members
            .get(id)
            .map(|m| m.groups.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The user of `id`.
    pub fn user_of(&self, id: &AwsId) -> Option<&str> {
        self.members.get(id).and_then(|m| m.user.as_deref())
    }

    /// The connections of a stage that match `filter`, in id order, after `after`.
    pub fn select<'a>(
        &'a self,
        api_id: &str,
        stage: &str,
        filter: &'a Filter,
        after: Option<AwsId>,
    ) -> impl Iterator<Item = AwsId> + 'a {
        let stage = self.stages.get(api_id).and_then(|s| s.get(stage));
        let base = stage.and_then(|s| match (&filter.group, &filter.user) {
            (Some(group), _) => s.groups.get(group),
            (None, Some(user)) => s.users.get(user),
            (None, None) => Some(&s.all),
        });
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        base.into_iter()
            .flat_map(move |set| set.range((lower, Bound::Unbounded)).copied())
            .filter(move |id| self.matches(id, filter))
    }

    /// How many connections of a stage match `filter`.
    pub fn count(&self, api_id: &str, stage: &str, filter: &Filter) -> usize {
        match (&filter.group, &filter.user) {
            (Some(_), Some(_)) => self.select(api_id, stage, filter, None).count(),
            _ => {
                let stage = self.stages.get(api_id).and_then(|s| s.get(stage));
                stage
                    .and_then(|s| match (&filter.group, &filter.user) {
                        (Some(group), _) => s.groups.get(group).map(BTreeSet::len),
                        (None, Some(user)) => s.users.get(user).map(BTreeSet::len),
                        (None, None) => Some(s.all.len()),
                    })
                    .unwrap_or(0)
            }
        }
    }

    /// Whether `id` also matches the filter's second criterion (the first chose the set).
    fn matches(&self, id: &AwsId, filter: &Filter) -> bool {
        match (&filter.group, &filter.user) {
            (Some(_), Some(user)) => self.user_of(id) == Some(user.as_str()),
            _ => true,
        }
    }

    fn stage_mut(&mut self, api_id: &str, stage: &str) -> &mut StageIndex {
        self.stages
            .entry(api_id.to_owned())
            .or_default()
            .entry(stage.to_owned())
            .or_default()
    }
}

/// Removes `id` from the set under `key`, and the set once empty.
fn remove_from<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, BTreeSet<AwsId>>,
    key: &K,
    id: &AwsId,
) {
    if let Some(set) = map.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};
    use std::sync::Arc;
    use switchboard_core::ids::NodeTag;

    fn info(user: Option<&str>) -> ConnectionInfo {
        ConnectionInfo {
            authorizer: user.map(|u| {
                let mut m = Map::new();
                m.insert("principalId".into(), Value::String(u.into()));
                Arc::new(m)
            }),
            ..super::super::test_support::info(AwsId::connection(NodeTag(1)))
        }
    }

    fn group(name: &str) -> GroupName {
        GroupName::parse(name).expect("valid")
    }

    fn filter(g: Option<&str>, u: Option<&str>) -> Filter {
        Filter {
            group: g.map(group),
            user: u.map(str::to_owned),
        }
    }

    #[test]
    fn groups_and_users_select_in_id_order_and_forget_the_gone() {
        let mut index = Index::default();
        let (a, b, c) = (info(Some("ann")), info(Some("bob")), info(None));
        for i in [&a, &b, &c] {
            index.insert(i);
        }
        let (a, b, c) = (a.connection_id, b.connection_id, c.connection_id);
        index.join(&a, &group("room")).expect("room");
        index.join(&c, &group("room")).expect("room");
        index
            .join(&c, &group("room"))
            .expect("again: nothing changes");
        let room = filter(Some("room"), None);
        let mut expected = vec![a, c];
        expected.sort();
        assert_eq!(
            index.select("chat", "dev", &room, None).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(index.count("chat", "dev", &room), 2);
        assert_eq!(
            index
                .select("chat", "dev", &room, Some(expected[0]))
                .collect::<Vec<_>>(),
            expected[1..]
        );
        assert_eq!(
            index.count("chat", "dev", &filter(Some("room"), Some("ann"))),
            1
        );
        assert_eq!(index.count("chat", "dev", &filter(None, Some("bob"))), 1);
        assert_eq!(index.count("chat", "prod", &room), 0);
        index.remove(&a);
        index.leave(&c, &group("room"));
        assert_eq!(index.count("chat", "dev", &room), 0);
        assert_eq!(index.count("chat", "dev", &filter(None, None)), 2);
        index.remove(&b);
        index.remove(&c);
        assert!(index.stages.is_empty() && index.members.is_empty());
    }

    #[test]
    fn a_connection_has_a_bounded_number_of_groups() {
        let mut index = Index::default();
        let one = info(None);
        index.insert(&one);
        for n in 0..MAX_GROUPS_PER_CONNECTION {
            index
                .join(&one.connection_id, &group(&format!("g{n}")))
                .expect("room");
        }
        assert_eq!(
            index.join(&one.connection_id, &group("one-more")),
            Err(GroupLimit::PerConnection)
        );
        assert_eq!(
            index.groups_of(&one.connection_id).len(),
            MAX_GROUPS_PER_CONNECTION
        );
    }
}
