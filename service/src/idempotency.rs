//! Idempotency keys: a client's name for one request, so that the same
//! request again answers the first instead of acting twice.

use crate::ServiceError;

/// Checks `key` as every door must: 1 to `max` characters of printable
/// ASCII, as an HTTP header carries it (a server function takes the key
/// from a JSON body, where anything else could arrive).
pub fn check_key(key: Option<&str>, max: usize) -> Result<(), ServiceError> {
    let Some(key) = key else {
        return Ok(());
    };
    if key.is_empty() || key.len() > max {
        return Err(ServiceError::invalid(
            "idempotency_key",
            format!("must be 1 to {max} characters"),
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(ServiceError::invalid(
            "idempotency_key",
            "must be printable text",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn keys_are_short_printable_text() {
        assert!(check_key(None, 10).is_ok());
        assert!(check_key(Some("order-1 retry"), 20).is_ok());
        for bad in [
            "",
            "a\u{0}b",
            "tab\there",
            "ünïcode",
            "x".repeat(11).as_str(),
        ] {
            assert!(check_key(Some(bad), 10).is_err(), "{bad:?}");
        }
    }
}
