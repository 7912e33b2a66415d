//! The crate's one sort agrees with the standard library's on every input.

use proptest::prelude::*;
use toolgate::sort::{sort, sort_by};

proptest! {
    #[test]
    fn sorts_like_the_standard_library(mut items in proptest::collection::vec(any::<i16>(), 0..300)) {
        let mut expected = items.clone();
        expected.sort_unstable();
        sort(&mut items);
        prop_assert_eq!(items, expected);
    }

    #[test]
    fn sorts_by_a_key_in_reverse(mut items in proptest::collection::vec((0u8..8, any::<u32>()), 0..200)) {
        sort_by(&mut items, |a, b| a.0 > b.0);
        prop_assert!(items.windows(2).all(|w| w[0].0 >= w[1].0));
    }
}

#[test]
fn keys_sort_by_utf16_code_units_as_rfc_8785_asks() {
    // U+1F600 sorts before U+FF61 in UTF-16 (0xD83D < 0xFF61), after it by code point.
    let mut keys = vec!["\u{1F600}", "\u{FF61}", "a", ""];
    sort_by(&mut keys, |a, b| a.encode_utf16().lt(b.encode_utf16()));
    assert_eq!(keys, ["", "a", "\u{1F600}", "\u{FF61}"]);
}
