//! Hashes plugins share: sha256 and hmac-sha256 in hex, for redaction that keeps values
//! joinable, and the `hash` action of the attributes processor (to be written).
