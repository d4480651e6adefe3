//! Group names, principals and the bounds of the groups extension (docs/groups.md): pure
//! checks, so a bad name is refused the same way from a management call and from a
//! `$connect` answer.

use serde::{Deserialize, Serialize};

/// Longest group name, in bytes.
pub const MAX_GROUP_NAME_BYTES: usize = 128;
/// Most groups one connection can be in.
pub const MAX_GROUPS_PER_CONNECTION: usize = 64;
/// Most distinct groups of one stage on one node.
pub const MAX_GROUPS_PER_STAGE: usize = 10_000;
/// Longest user (`principalId`) addressed, in bytes.
pub const MAX_USER_BYTES: usize = 512;
/// Most connection ids one broadcast may exclude.
pub const MAX_EXCLUDES: usize = 100;
/// Page size of a listing when `limit` is not given.
pub const DEFAULT_PAGE: usize = 100;
/// Largest page of a listing.
pub const MAX_PAGE: usize = 1000;
/// About the most bytes of connections one node puts in a page (a cluster reply stays well
/// under NATS's default 1 MB payload); a page cut by it says that more remain.
pub const MAX_PAGE_BYTES: usize = 512 * 1024;

/// A valid group name: 1 to 128 ASCII letters, digits, `-`, `_`, `.`, `:`, `~`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty.
    #[error("the group name is empty")]
    Empty,
    /// Over the length bound.
    #[error("the group name is longer than {MAX_GROUP_NAME_BYTES} bytes")]
    TooLong,
    /// A character outside the allowed set.
    #[error("the group name may hold only ASCII letters, digits and - _ . : ~")]
    BadCharacter,
    /// A user longer than [`MAX_USER_BYTES`], or empty.
    #[error("the user (principalId) must be 1 to {MAX_USER_BYTES} bytes")]
    BadUser,
}

impl GroupName {
    /// Checks `name`.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > MAX_GROUP_NAME_BYTES {
            return Err(NameError::TooLong);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:~".contains(c);
        if !name.chars().all(allowed) {
            return Err(NameError::BadCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GroupName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, NameError> {
        Self::parse(&value)
    }
}

impl From<GroupName> for String {
    fn from(value: GroupName) -> Self {
        value.0
    }
}

impl std::fmt::Display for GroupName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a user as addressed in `@users/{principalId}`.
pub fn parse_user(user: &str) -> Result<String, NameError> {
    match user.len() {
        1..=MAX_USER_BYTES => Ok(user.to_owned()),
        _ => Err(NameError::BadUser),
    }
}

/// The groups a `$connect` answer asks for, comma-separated in the
/// [`JOIN_HEADER`](crate::plane::JOIN_HEADER) header (repeated headers joined by the caller).
pub fn parse_group_list(value: &str) -> Result<Vec<GroupName>, NameError> {
    let mut groups: Vec<GroupName> = Vec::new();
    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let group = GroupName::parse(name)?;
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_plain() {
        assert!(GroupName::parse("room-1.a:b_c~").is_ok());
        assert_eq!(GroupName::parse(""), Err(NameError::Empty));
        assert_eq!(GroupName::parse(&"a".repeat(129)), Err(NameError::TooLong));
        assert!(GroupName::parse(&"a".repeat(128)).is_ok());
        for bad in ["a b", "a/b", "é", "a,b", "a%20"] {
            assert_eq!(GroupName::parse(bad), Err(NameError::BadCharacter), "{bad}");
        }
    }

    #[test]
    fn a_header_list_is_trimmed_and_deduplicated() {
        let groups = parse_group_list(" a, b ,a,,").expect("valid");
        let names: Vec<&str> = groups.iter().map(GroupName::as_str).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(parse_group_list("a,b c").is_err());
        assert_eq!(parse_user(""), Err(NameError::BadUser));
    }
}
