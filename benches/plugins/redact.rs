//! The redact processor with five detectors: on records that each carry an email, an IPv4
//! address and an `authorization` header (every record is rewritten), and on records with
//! nothing to find (the cost of scanning alone).

use aegis::batch::Signal;
use aegis_plugin_sdk::{Config, Processor};
use criterion::Criterion;

/// Masks `user.email`, `client.address` and `authorization` in every record of
/// `logs_request(_, 10)`.
const FIVE_DETECTORS: &str =
    r#"{"allow_all_keys": true, "detectors": ["email", "credit_card", "ipv4", "jwt", "aegis_sensitive_keys"]}"#;

/// Finds nothing in `logs_request(_, 6)`: no email, card, token or key id there.
const NOTHING_TO_FIND: &str =
    r#"{"allow_all_keys": true, "detectors": ["email", "credit_card", "jwt", "bearer", "aws_access_key"]}"#;

pub(crate) fn bench(c: &mut Criterion) {
    let groups = [
        ("redact/five-detectors", FIVE_DETECTORS, "1000 logs x 10 attributes", 10),
        ("redact/nothing-to-find", NOTHING_TO_FIND, "1000 logs x 6 attributes", 6),
    ];
    for (group, config, name, attributes) in groups {
        let native = aegis_plugin_redact::Redact::init(Config::from_json(config).unwrap()).unwrap();
        let payloads = vec![(name.to_string(), crate::data::logs_request(1000, attributes), 1000)];
        crate::support::compare(c, group, "redact", config, native, Signal::Logs, &payloads);
    }
}
