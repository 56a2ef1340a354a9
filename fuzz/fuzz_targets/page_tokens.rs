//! Page tokens and live-stream resume tokens come back from clients as they like: any text is
//! a cursor or INVALID_ARGUMENT, never a panic, and what decodes encodes back to itself.

#![no_main]

use campus_runtime::api::{decode_cursor, encode_cursor, page_after};
use campus_store::events::live::Position;

libfuzzer_sys::fuzz_target!(|token: &str| {
    for parts in 1..=4 {
        if let Ok(fields) = decode_cursor(token, parts) {
            assert_eq!(fields.len(), parts);
            let borrowed: Vec<&str> = fields.iter().map(String::as_str).collect();
            assert_eq!(
                decode_cursor(&encode_cursor(&borrowed), parts).ok(),
                Some(fields)
            );
        }
        if let Ok(fields) = page_after(token, parts) {
            assert_eq!(fields.len(), parts);
        }
    }
    if let Ok(position) = token.parse::<Position>() {
        assert_eq!(
            position.to_string().parse::<Position>().ok(),
            Some(position)
        );
    }
});
