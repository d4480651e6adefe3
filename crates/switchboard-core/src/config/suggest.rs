//! "Did you mean …?": the known name closest to a misspelled key or value.

/// The candidate a user most likely meant by `written`, if one is close enough.
///
/// First a name that differs only in case, `_` or `-` (CloudFormation's `RouteKey` for
/// `routeKey`, `route_key`), then one that `written` starts or is the start of (a truncated or
/// extended key), then the nearest by edit distance, allowing about one typo per four characters.
pub(crate) fn closest<'c>(
    written: &str,
    candidates: impl IntoIterator<Item = &'c str> + Clone,
) -> Option<&'c str> {
    let folded = fold(written);
    if folded.is_empty() {
        return None;
    }
    if let Some(same) = candidates.clone().into_iter().find(|c| fold(c) == folded) {
        return Some(same);
    }
    if folded.chars().count() >= 4 {
        let mut prefixed = candidates.clone().into_iter().filter(|c| {
            let c = fold(c);
            c.starts_with(&folded) || folded.starts_with(&c)
        });
        if let (Some(only), None) = (prefixed.next(), prefixed.next()) {
            return Some(only);
        }
    }
    // A one- or two-letter key is as close to every short name as to any other.
    if folded.chars().count() < 3 {
        return None;
    }
    let allowed = (folded.chars().count() / 4).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&folded, &fold(c)), c))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Lowercase without `_` and `-`, so naming conventions compare equal.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance over characters (insertions, deletions, substitutions).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: [&str; 4] = [
        "target",
        "routeResponseSelectionExpression",
        "authorizationType",
        "authorizerId",
    ];

    #[test]
    fn a_typo_suggests_the_nearest_name() {
        assert_eq!(closest("targett", ROUTE), Some("target"));
        assert_eq!(closest("taget", ROUTE), Some("target"));
        assert_eq!(closest("authorizerID", ROUTE), Some("authorizerId"));
    }

    #[test]
    fn other_naming_conventions_suggest_the_camel_case_name() {
        assert_eq!(closest("Target", ROUTE), Some("target"));
        assert_eq!(
            closest("authorization_type", ROUTE),
            Some("authorizationType")
        );
        assert_eq!(
            closest("RouteResponseSelectionExpression", ROUTE),
            Some("routeResponseSelectionExpression")
        );
    }

    #[test]
    fn a_truncated_name_suggests_the_full_one() {
        assert_eq!(
            closest(
                "throttlingBurst",
                ["throttlingBurstLimit", "throttlingRateLimit"]
            ),
            Some("throttlingBurstLimit")
        );
    }

    #[test]
    fn nothing_close_suggests_nothing() {
        assert_eq!(closest("colour", ROUTE), None);
        assert_eq!(closest("", ROUTE), None);
        assert_eq!(closest("x", ["y", "z"]), None);
    }
}
