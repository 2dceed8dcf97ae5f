//! Cursor decoding on arbitrary text: an error naming the field, or a cursor that encodes back to text that
//! decodes to the same cursor; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_api::Cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Cursor::decode(text, "query.after") {
        Ok(c) => {
            let again = Cursor::decode(&c.encode(), "query.after").expect("a cursor's own encoding decodes");
            assert_eq!((again.timestamp, again.uuid), (c.timestamp, c.uuid));
        }
        Err(e) => assert!(e.to_string().starts_with("query.after"), "{e}"),
    }
});
