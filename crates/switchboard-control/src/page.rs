//! `nextToken` / `maxResults` pagination of the `Get*` list operations.

use crate::ControlError;

/// Most items one page holds, whatever `maxResults` asks.
pub const MAX_PAGE: usize = 500;
/// Items of a page when `maxResults` is absent.
pub const DEFAULT_PAGE: usize = 100;

/// One page request as sent: both query strings, unparsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// `maxResults` (a string on the apigatewayv2 wire).
    pub max_results: Option<String>,
    /// `nextToken` from the previous page.
    pub next_token: Option<String>,
}

impl PageRequest {
    /// The slice of `items` this request names and the token of the next page, if any.
    pub(crate) fn slice<T: Clone>(
        &self,
        items: &[T],
    ) -> Result<(Vec<T>, Option<String>), ControlError> {
        let size = match &self.max_results {
            None => DEFAULT_PAGE,
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) if n >= 1 => n.min(MAX_PAGE),
                _ => {
                    return Err(ControlError::BadRequest(format!(
                        "maxResults must be a positive whole number, not `{text}`"
                    )))
                }
            },
        };
        let start = match &self.next_token {
            None => 0,
            Some(token) => token
                .strip_prefix("p")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= items.len())
                .ok_or_else(|| ControlError::BadRequest("The nextToken is invalid".into()))?,
        };
        let end = (start + size).min(items.len());
        let next = (end < items.len()).then(|| format!("p{end}"));
        Ok((items[start..end].to_vec(), next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_list_once() {
        let items: Vec<u32> = (0..7).collect();
        let mut request = PageRequest {
            max_results: Some("3".into()),
            next_token: None,
        };
        let mut seen = Vec::new();
        loop {
            let (page, next) = request.slice(&items).unwrap();
            seen.extend(page);
            match next {
                Some(token) => request.next_token = Some(token),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn a_bad_token_or_size_is_a_bad_request() {
        let items = [1, 2];
        for (max, token) in [
            (Some("0"), None),
            (Some("x"), None),
            (None, Some("p9")),
            (None, Some("zz")),
        ] {
            let request = PageRequest {
                max_results: max.map(str::to_owned),
                next_token: token.map(str::to_owned),
            };
            assert!(matches!(
                request.slice(&items),
                Err(ControlError::BadRequest(_))
            ));
        }
    }
}
