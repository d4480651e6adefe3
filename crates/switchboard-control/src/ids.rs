//! Resource ids in AWS's formats: lowercase letters and digits (`apiId` 10 characters, route and
//! integration ids 7, the others 6).

use rand::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh random id of `len` characters.
pub(crate) fn new_id(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Whether `id` could be an id of ours (bounded, lowercase alphanumeric), so a path segment
/// that is not one is refused before any lookup.
pub(crate) fn plausible(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lowercase_alphanumeric_of_the_asked_length() {
        for len in [6, 7, 10] {
            let id = new_id(len);
            assert_eq!(id.len(), len);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        }
    }
}
