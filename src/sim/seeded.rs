//! Seeded draws: every random figure of a simulation is a hash of the scenario seed and what is
//! drawn, so a run is reproducible and the oracle can look ahead at the same draws.

/// splitmix64: a tiny, well-known mixing function; enough for seeded noise and delays.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub(crate) fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5EED, |acc, p| mix(acc ^ mix(*p)))
}

pub(crate) fn text_hash(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// A uniform draw in [0, 1) from a hash.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}
