//! Feed arbitrary bytes to the dripline decoder: byte 0 says how many steering bytes follow
//! (they choose properties and typed headers), the rest is the body. See
//! `dripline_protocol::fuzzing` for the layout and the properties checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    dripline_protocol::fuzzing::exercise(data, Instant::now());
});
