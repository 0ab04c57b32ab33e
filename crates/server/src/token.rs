//! API tokens: random, shown once, stored only as their SHA-256 digest.

use sha2::{Digest, Sha256};

/// The roles a token may have. They are recorded with the token; enforcing them is the next
/// issue's work.
pub const ROLES: [&str; 4] = ["admin", "compliance", "planner", "viewer"];

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    use rand::TryRngCore;
    let mut b = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| format!("no randomness from the operating system: {e}"))?;
    Ok(b)
}

/// A new token: `xpf_` and 32 random bytes in hex.
pub fn generate() -> Result<String, String> {
    Ok(format!("xpf_{}", hex(&random_bytes::<32>()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_sha256_hex() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
