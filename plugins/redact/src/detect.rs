//! The built-in detectors: hand-written scanners for the shapes of personal data and
//! credentials in text, and the test for the Aegis services' sensitive keys.
//!
//! One pass over a value's bytes tells which shapes it could hold (an email needs an `@`,
//! a card number 13 digits, an IPv6 address two colons); only the scanners that could
//! match run, so a clean value costs little more than reading it once.

/// Why part of a value was masked: a built-in detector or a configured rule. The names
/// are the config's and label the plugin's metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Reason {
    Email,
    CreditCard,
    Ipv4,
    Ipv6,
    Jwt,
    Bearer,
    AwsAccessKey,
    SensitiveKey,
    BlockedKey,
    BlockedValue,
}

impl Reason {
    /// Every reason, in the order of [`Reason::index`].
    pub(crate) const ALL: [Reason; 10] = [
        Reason::Email,
        Reason::CreditCard,
        Reason::Ipv4,
        Reason::Ipv6,
        Reason::Jwt,
        Reason::Bearer,
        Reason::AwsAccessKey,
        Reason::SensitiveKey,
        Reason::BlockedKey,
        Reason::BlockedValue,
    ];

    /// The name in the config (`detectors`, or the key of the rule) and in metric labels.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reason::Email => "email",
            Reason::CreditCard => "credit_card",
            Reason::Ipv4 => "ipv4",
            Reason::Ipv6 => "ipv6",
            Reason::Jwt => "jwt",
            Reason::Bearer => "bearer",
            Reason::AwsAccessKey => "aws_access_key",
            Reason::SensitiveKey => "aegis_sensitive_keys",
            Reason::BlockedKey => "blocked_key_patterns",
            Reason::BlockedValue => "blocked_values",
        }
    }

    /// The position in [`Reason::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The detector called `name` in `detectors`.
    pub(crate) fn detector(name: &str) -> Option<Reason> {
        Reason::ALL[..8].iter().copied().find(|r| r.name() == name)
    }
}

/// A part of a value to mask: bytes `start..end`, found for `reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) reason: Reason,
}

/// The value detectors that are switched on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Detectors(u16);

impl Detectors {
    /// Switches on the detector for `reason`.
    pub(crate) fn enable(&mut self, reason: Reason) {
        self.0 |= 1 << reason.index();
    }

    /// Whether the detector for `reason` is on.
    #[inline]
    pub(crate) fn has(self, reason: Reason) -> bool {
        self.0 & (1 << reason.index()) != 0
    }

    /// Finds everything the switched-on value detectors recognise in `s` (text, read as
    /// bytes: every shape they look for is ASCII).
    pub(crate) fn scan(self, s: &[u8], out: &mut Vec<Found>) {
        let shape = Shape::of(s);
        if self.has(Reason::Email) && shape.count(AT) > 0 {
            email(s, out);
        }
        if self.has(Reason::CreditCard) && shape.count(DIGIT) >= 13 {
            credit_card(s, out);
        }
        if self.has(Reason::Ipv4) && shape.count(DIGIT) >= 4 && shape.count(DOT) >= 3 {
            ipv4(s, out);
        }
        if self.has(Reason::Ipv6) && shape.count(COLON) >= 2 {
            ipv6(s, out);
        }
        if self.has(Reason::Jwt) && shape.count(LOWER_E) > 0 && shape.count(DOT) >= 2 {
            jwt(s, out);
        }
        if self.has(Reason::Bearer) && shape.count(LETTER_B) > 0 && s.len() >= 6 + 1 + BEARER_MIN_TOKEN {
            bearer(s, out);
        }
        if self.has(Reason::AwsAccessKey) && shape.count(UPPER_A) > 0 && s.len() >= 20 {
            aws_access_key(s, out);
        }
    }
}

/// The bytes the shape pass counts, each in its own byte of a `u64` (see [`CLASS`]).
const DIGIT: u32 = 0;
const AT: u32 = 1;
const DOT: u32 = 2;
const COLON: u32 = 3;
const UPPER_A: u32 = 4;
const LOWER_E: u32 = 5;
const LETTER_B: u32 = 6;

/// For every byte, a 1 in the byte of the `u64` that counts its kind: adding up the
/// entries of a value's bytes counts all kinds at once, one add per byte.
const CLASS: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = b'0';
    while b <= b'9' {
        table[b as usize] = 1 << (8 * DIGIT);
        b += 1;
    }
    table[b'@' as usize] = 1 << (8 * AT);
    table[b'.' as usize] = 1 << (8 * DOT);
    table[b':' as usize] = 1 << (8 * COLON);
    table[b'A' as usize] = 1 << (8 * UPPER_A);
    table[b'e' as usize] = 1 << (8 * LOWER_E);
    table[b'b' as usize] = 1 << (8 * LETTER_B);
    table[b'B' as usize] = 1 << (8 * LETTER_B);
    table
};

/// How many bytes of each counted kind a value has (up to 255 each: the scanners only
/// ask for a few).
struct Shape(u64);

impl Shape {
    #[inline]
    fn of(s: &[u8]) -> Shape {
        // Counting in chunks of 255 bytes keeps every byte-wide counter from overflowing;
        // the totals saturate at 255.
        let mut total = 0u64;
        for chunk in s.chunks(255) {
            let mut counts = 0u64;
            for &b in chunk {
                counts += CLASS[usize::from(b)];
            }
            total = saturating_add_bytes(total, counts);
        }
        Shape(total)
    }

    #[inline]
    fn count(&self, kind: u32) -> u32 {
        ((self.0 >> (8 * kind)) & 0xff) as u32
    }
}

/// Adds two `u64`s of byte-wide counters, each byte saturating at 255.
fn saturating_add_bytes(a: u64, b: u64) -> u64 {
    let mut out = 0u64;
    for i in 0..8 {
        let sum = ((a >> (8 * i)) & 0xff) + ((b >> (8 * i)) & 0xff);
        out |= sum.min(0xff) << (8 * i);
    }
    out
}

#[inline]
fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Whether byte `i` of `s` exists and satisfies `test`.
#[inline]
fn at(s: &[u8], i: usize, test: impl Fn(u8) -> bool) -> bool {
    s.get(i).is_some_and(|&b| test(b))
}

/// Email addresses: `local@domain.tld`, the local part of letters, digits and `._%+-`,
/// a domain of at least two labels ending in a top-level domain of two or more letters.
fn email(s: &[u8], out: &mut Vec<Found>) {
    let is_local = |b: u8| is_alnum(b) || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let is_domain = |b: u8| is_alnum(b) || matches!(b, b'.' | b'-');
    // Nothing before `from` may start a new match: it belongs to the previous one.
    let mut from = 0;
    for at_sign in (0..s.len()).filter(|&i| s[i] == b'@') {
        if at_sign < from {
            continue;
        }
        let mut start = at_sign;
        while start > from && is_local(s[start - 1]) {
            start -= 1;
        }
        while start < at_sign && s[start] == b'.' {
            start += 1;
        }
        if start == at_sign {
            continue;
        }
        let mut end = at_sign + 1;
        while end < s.len() && is_domain(s[end]) {
            end += 1;
        }
        // A sentence may end right after the address.
        while end > at_sign + 1 && matches!(s[end - 1], b'.' | b'-') {
            end -= 1;
        }
        if let Some(domain) = domain_len(&s[at_sign + 1..end]) {
            let end = at_sign + 1 + domain;
            out.push(Found { start, end, reason: Reason::Email });
            from = end;
        }
    }
}

/// The length of the longest run of whole labels at the start of `text` that is a domain:
/// two labels or more, the last of two letters or more. What follows it is not part of the
/// address (`bob@corp.example.b8::1` holds `bob@corp.example`, before an IPv6 address), as a
/// regular expression for addresses would also find it.
fn domain_len(text: &[u8]) -> Option<usize> {
    let mut labels = 0;
    let mut offset = 0;
    let mut found = None;
    for label in text.split(|&b| b == b'.') {
        if label.is_empty() || label[0] == b'-' || label[label.len() - 1] == b'-' {
            break;
        }
        labels += 1;
        let end = offset + label.len();
        if labels >= 2 && label.len() >= 2 && label.iter().all(u8::is_ascii_alphabetic) {
            found = Some(end);
        }
        offset = end + 1;
    }
    found
}

/// How many digit groups one number may have (`4111 1111 1111 1111` has four).
const MAX_GROUPS: usize = 12;

/// Payment card numbers: 13 to 19 digits, written together or in groups separated by
/// single spaces or dashes (the same throughout), starting like a card of the major
/// networks (3, 4, 5, 6, or 2221-2720) and passing the Luhn check. Order numbers,
/// timestamps and most ids fail one of these.
fn credit_card(s: &[u8], out: &mut Vec<Found>) {
    let digit = |b: u8| b.is_ascii_digit();
    let mut i = 0;
    while i < s.len() {
        if !digit(s[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut groups = [(0usize, 0usize); MAX_GROUPS];
        let mut count = 0;
        let mut separator = None;
        // Where the next run starts, as an index into `groups`, when this one is cut short.
        let mut restart = None;
        let mut j = i;
        loop {
            let group_start = j;
            while j < s.len() && digit(s[j]) {
                j += 1;
            }
            groups[count] = (group_start, j);
            count += 1;
            if !(at(s, j, |b| b == b' ' || b == b'-') && at(s, j + 1, digit)) {
                break;
            }
            if separator.is_some_and(|sep| sep != s[j]) {
                // Another separator: the last group may start a number of its own
                // (`1 5500-0000-0000-0004`), so the next run starts there.
                restart = Some(count - 1);
                break;
            }
            if count == MAX_GROUPS {
                // More groups follow: the next run starts at the second group, so
                // that a number among the groups to come is still seen whole.
                restart = Some(1);
                break;
            }
            separator = Some(s[j]);
            j += 1;
        }
        i = j;
        // A number glued to letters (`id4111...`, `...1111x`) is part of a word; so is a
        // first or last group glued to one, but the groups between may still be a card
        // (`rd2 4111 1111 1111 1111`).
        let all = groups;
        let mut groups = &all[..count];
        if start > 0 && is_alnum(s[start - 1]) {
            groups = &groups[1..];
        }
        if at(s, j, is_alnum) {
            groups = &groups[..groups.len().saturating_sub(1)];
        }
        // Every card among the groups, overlapping ones merged: in `6 4111 1111 1111 1111`
        // both `6 4111 1111 1111` and `4111 1111 1111 1111` pass, and which one was meant
        // cannot be told, so both go (masking too much is the safer mistake).
        let mut card: Option<(usize, usize)> = None;
        for a in 0..groups.len() {
            let Some(b) = (a + 1..=groups.len()).rev().find(|&b| is_card(s, &groups[a..b])) else { continue };
            let (from, to) = (groups[a].0, groups[b - 1].1);
            card = match card {
                Some((start, end)) if from <= end => Some((start, end.max(to))),
                Some((start, end)) => {
                    out.push(Found { start, end, reason: Reason::CreditCard });
                    Some((from, to))
                }
                None => Some((from, to)),
            };
        }
        let end = card.map_or(0, |(_, end)| end);
        if let Some((start, end)) = card {
            out.push(Found { start, end, reason: Reason::CreditCard });
        }
        // Never into a number already found.
        if let Some(&(next, _)) = restart.and_then(|r| all[r..count].iter().find(|(from, _)| *from >= end)) {
            i = next;
        }
    }
}

/// Whether the digits of `groups` form a card number.
fn is_card(s: &[u8], groups: &[(usize, usize)]) -> bool {
    let len: usize = groups.iter().map(|(a, b)| b - a).sum();
    if !(13..=19).contains(&len) {
        return false;
    }
    let mut digits = [0u8; 19];
    let mut n = 0;
    for &(a, b) in groups {
        for &d in &s[a..b] {
            digits[n] = d - b'0';
            n += 1;
        }
    }
    let digits = &digits[..n];
    let network = match digits[0] {
        3..=6 => true,
        2 => {
            let prefix = digits[..4].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d));
            (2221..=2720).contains(&prefix) && n == 16
        }
        _ => false,
    };
    network && luhn(digits)
}

/// The Luhn checksum: doubling every second digit from the right, the sum ends in 0.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// IPv4 addresses in dotted-quad form, each part 0-255. Not when glued to letters or
/// digits, and not when a fifth part follows (`1.2.3.4.5` is a version, not an address).
fn ipv4(s: &[u8], out: &mut Vec<Found>) {
    let mut i = 0;
    while i < s.len() {
        if !s[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let glued = i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == b'.');
        if !glued
            && let Some(end) = dotted_quad(s, i)
            && !at(s, end, is_alnum)
            && !(at(s, end, |b| b == b'.') && at(s, end + 1, |b| b.is_ascii_digit()))
        {
            out.push(Found { start: i, end, reason: Reason::Ipv4 });
            i = end;
            continue;
        }
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
    }
}

/// The end of the dotted quad starting at `i`, if one does.
fn dotted_quad(s: &[u8], mut i: usize) -> Option<usize> {
    for part in 0..4 {
        if part > 0 {
            if !at(s, i, |b| b == b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while i < s.len() && s[i].is_ascii_digit() && i - start < 3 {
            value = value * 10 + u32::from(s[i] - b'0');
            i += 1;
        }
        if i == start || value > 255 || at(s, i, |b| b.is_ascii_digit()) {
            return None;
        }
    }
    Some(i)
}

/// The longest IPv6 address in text: 39 characters, or 45 with an IPv4 tail.
const IPV6_MAX: usize = 45;

/// IPv6 addresses in every textual form (full, `::`-compressed, with an IPv4 tail), with
/// an optional `%zone`. Candidates are checked by the standard library's parser. To keep
/// `Type::method` and `dead::beef`-like words apart, an address must contain a decimal
/// digit, and must not be glued to letters (but may follow a `label:`).
fn ipv6(s: &[u8], out: &mut Vec<Found>) {
    let hexish = |b: u8| b.is_ascii_hexdigit() || b == b':';
    let mut from = 0;
    let mut p = 0;
    while p < s.len() {
        if s[p] != b':' {
            p += 1;
            continue;
        }
        let mut start = p;
        while start > from && hexish(s[start - 1]) {
            start -= 1;
        }
        let mut end = p;
        while end < s.len() && (hexish(s[end]) || s[end] == b'.') {
            end += 1;
        }
        p = end.max(p + 1);
        while end > start && s[end - 1] == b'.' {
            end -= 1;
        }
        if end - start >= 2 && s[end - 1] == b':' && s[end - 2] != b':' {
            end -= 1;
        }
        if end - start >= 2 && s[start] == b':' && s[start + 1] != b':' {
            start += 1;
        }
        let mut stop = end;
        if at(s, end, |b| b == b'%') && at(s, end + 1, is_zone) {
            stop = end + 1;
            while stop < s.len() && is_zone(s[stop]) {
                stop += 1;
            }
        }
        if at(s, stop, |b| is_alnum(b) || b == b'_') {
            continue;
        }
        if start > 0 && (is_alnum(s[start - 1]) || s[start - 1] == b'_') {
            // Glued to a word on the left. The word may be a label whose last letters
            // are hex (`iface:fe80::1`, `node:2001:db8::1`): then the address is what
            // follows its one colon.
            match s[start..end].iter().position(|&b| b == b':') {
                Some(colon) if at(s, start + colon + 1, |b| b != b':') => start += colon + 1,
                _ => continue,
            }
        }
        let candidate = &s[start..end];
        let plausible = candidate.len() <= IPV6_MAX
            && candidate.iter().filter(|&&b| b == b':').count() >= 2
            && candidate.iter().any(u8::is_ascii_digit);
        if plausible && std::str::from_utf8(candidate).is_ok_and(|c| c.parse::<std::net::Ipv6Addr>().is_ok()) {
            out.push(Found { start, end: stop, reason: Reason::Ipv6 });
            from = stop;
            p = p.max(stop);
        }
    }
}

fn is_zone(b: u8) -> bool {
    is_alnum(b) || matches!(b, b'_' | b'.' | b'-')
}

/// The base64url alphabet, which JSON Web Tokens are written in.
fn is_base64url(b: u8) -> bool {
    is_alnum(b) || b == b'-' || b == b'_'
}

/// The end of the run of base64url characters starting at `i`.
fn base64url_end(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_base64url(s[i]) {
        i += 1;
    }
    i
}

/// JSON Web Tokens: a header that is base64url JSON (`eyJ...`, at least 10 characters),
/// a non-empty payload and a signature that may be empty (`alg: none`), or the five
/// parts of an encrypted token.
fn jwt(s: &[u8], out: &mut Vec<Found>) {
    let mut i = 0;
    while i + 3 <= s.len() {
        if &s[i..i + 3] != b"eyJ" || (i > 0 && is_base64url(s[i - 1])) {
            i += 1;
            continue;
        }
        let header = base64url_end(s, i);
        if header - i < 10 || !at(s, header, |b| b == b'.') {
            i = header;
            continue;
        }
        let payload = base64url_end(s, header + 1);
        if payload == header + 1 || !at(s, payload, |b| b == b'.') {
            i = payload;
            continue;
        }
        let mut end = base64url_end(s, payload + 1);
        for _ in 0..2 {
            if at(s, end, |b| b == b'.') && at(s, end + 1, is_base64url) {
                end = base64url_end(s, end + 1);
            } else {
                break;
            }
        }
        out.push(Found { start: i, end, reason: Reason::Jwt });
        i = end;
    }
}

/// The shortest token after `Bearer` that is masked, so that prose ("the bearer of the
/// news") is left alone.
const BEARER_MIN_TOKEN: usize = 10;

/// Bearer tokens (RFC 6750): the token after the word `Bearer` (any case) and spaces.
/// The word stays, so a reader can tell what was there: `Bearer ****`.
fn bearer(s: &[u8], out: &mut Vec<Found>) {
    let is_token = |b: u8| is_alnum(b) || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
    let mut i = 0;
    while i + 6 < s.len() {
        if s[i] | 0x20 != b'b' || !s[i..i + 6].eq_ignore_ascii_case(b"bearer") || (i > 0 && is_alnum(s[i - 1])) {
            i += 1;
            continue;
        }
        let mut start = i + 6;
        while start < s.len() && matches!(s[start], b' ' | b'\t') {
            start += 1;
        }
        if start == i + 6 {
            i += 6;
            continue;
        }
        let mut end = start;
        while end < s.len() && is_token(s[end]) {
            end += 1;
        }
        while end < s.len() && s[end] == b'=' {
            end += 1;
        }
        if end - start >= BEARER_MIN_TOKEN {
            out.push(Found { start, end, reason: Reason::Bearer });
            i = end;
        } else {
            // A short word is no token, but may be the word itself: `bearer Bearer abc...`.
            i = start;
        }
    }
}

/// AWS access key ids: `AKIA` (long-term) or `ASIA` (temporary), and the rarer `ABIA`
/// and `ACCA`, then 16 uppercase letters or digits, as a word of its own.
fn aws_access_key(s: &[u8], out: &mut Vec<Found>) {
    let body = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    let mut i = 0;
    while i + 20 <= s.len() {
        let prefix = &s[i..i + 4];
        let candidate = s[i] == b'A'
            && matches!(prefix, b"AKIA" | b"ASIA" | b"ABIA" | b"ACCA")
            && (i == 0 || !is_alnum(s[i - 1]))
            && s[i + 4..i + 20].iter().all(|&b| body(b))
            && !at(s, i + 20, is_alnum);
        if candidate {
            out.push(Found { start: i, end: i + 20, reason: Reason::AwsAccessKey });
            i += 20;
        } else {
            i += 1;
        }
    }
}

/// Whether `key` names a secret of the Aegis services: one of its words (split at
/// punctuation and at camelCase humps, compared without case) is `password`, `passwd`,
/// `authorization`, `token`, `secret`, `cookie` (or their plurals, except `tokens`,
/// which counts tokens) or `apikey`, or two neighbouring words are `api` and `key`.
/// So `db.password`, `http.request.header.authorization`, `X-Api-Key`, `accessToken`
/// and `set-cookie` are sensitive, `gen_ai.usage.input_tokens` is not.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    const WORDS: [&str; 11] = [
        "password",
        "passwords",
        "passwd",
        "authorization",
        "token",
        "secret",
        "secrets",
        "cookie",
        "cookies",
        "apikey",
        "apikeys",
    ];
    let mut previous_was_api = false;
    for word in words(key) {
        if WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) || (previous_was_api && word.eq_ignore_ascii_case("key"))
        {
            return true;
        }
        previous_was_api = word.eq_ignore_ascii_case("api");
    }
    false
}

/// The words of a key: runs of letters and digits, split again where camelCase starts a
/// new word (`accessToken`, `APIKey`).
fn words(key: &str) -> impl Iterator<Item = &str> {
    let s = key.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < s.len() && !is_alnum(s[i]) {
            i += 1;
        }
        if i == s.len() {
            return None;
        }
        let start = i;
        i += 1;
        while i < s.len() && is_alnum(s[i]) {
            let hump = s[i].is_ascii_uppercase()
                && (s[i - 1].is_ascii_lowercase()
                    || s[i - 1].is_ascii_digit()
                    || (s[i - 1].is_ascii_uppercase() && at(s, i + 1, |b| b.is_ascii_lowercase())));
            if hump {
                break;
            }
            i += 1;
        }
        key.get(start..i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of `text` that the detector for `reason` alone finds.
    fn found(reason: Reason, text: &str) -> Vec<&str> {
        let mut on = Detectors::default();
        on.enable(reason);
        let mut out = Vec::new();
        on.scan(text.as_bytes(), &mut out);
        assert!(out.iter().all(|f| f.reason == reason));
        out.iter().map(|f| &text[f.start..f.end]).collect()
    }

    #[test]
    fn email_finds_addresses_in_text_and_leaves_other_at_signs() {
        assert_eq!(found(Reason::Email, "user42@example.com"), ["user42@example.com"]);
        assert_eq!(
            found(Reason::Email, "mail Ann.Lee+tag@mail.example.co.uk, or bob_o@x-y.org."),
            ["Ann.Lee+tag@mail.example.co.uk", "bob_o@x-y.org"]
        );
        // The address ends at its last label that can end one, whatever follows.
        assert_eq!(found(Reason::Email, "bob@corp.example.b8::1"), ["bob@corp.example"]);
        assert_eq!(found(Reason::Email, "to ann@mail.example.com.x1 and"), ["ann@mail.example.com"]);
        assert_eq!(found(Reason::Email, "ann@a.example.-b"), ["ann@a.example"]);
        assert_eq!(found(Reason::Email, "<.dot@example.com>"), ["dot@example.com"]);
        for clean in ["@example.com", "user@", "user@localhost", "a@b.c", "x@10.0.0.1", "me@-bad.com", "a@b..com", "@@"]
        {
            assert!(found(Reason::Email, clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn luhn_accepts_valid_numbers_and_rejects_one_digit_off() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        for valid in ["4111111111111111", "5500000000000004", "378282246310005", "6011111111111117", "79927398713"] {
            assert!(luhn(&digits(valid)), "{valid}");
        }
        for invalid in ["4111111111111112", "5500000000000005", "378282246310006", "79927398710"] {
            assert!(!luhn(&digits(invalid)), "{invalid}");
        }
    }

    #[test]
    fn credit_card_finds_luhn_valid_numbers_of_the_card_networks() {
        assert_eq!(found(Reason::CreditCard, "4111111111111111"), ["4111111111111111"]);
        assert_eq!(found(Reason::CreditCard, "card 4111 1111 1111 1111, exp 12/29"), ["4111 1111 1111 1111"]);
        assert_eq!(found(Reason::CreditCard, "amex=3782-822463-10005;"), ["3782-822463-10005"]);
        assert_eq!(found(Reason::CreditCard, "mc 2221000000000009 ok"), ["2221000000000009"]);
        // A trailing group that does not belong to the number is left out.
        assert_eq!(found(Reason::CreditCard, "4111 1111 1111 1111 2 items"), ["4111 1111 1111 1111"]);
        assert_eq!(
            found(Reason::CreditCard, "6011111111111117 and 5500-0000-0000-0004"),
            ["6011111111111117", "5500-0000-0000-0004"]
        );
        // A number next to a word's digits, with a space or a dash between (found by
        // fuzzing: `rd2 4111111111111111` leaked).
        assert_eq!(found(Reason::CreditCard, "rd2 4111111111111111 eo"), ["4111111111111111"]);
        assert_eq!(found(Reason::CreditCard, "rd2 4111 1111 1111 1111"), ["4111 1111 1111 1111"]);
        assert_eq!(found(Reason::CreditCard, "ab12-4111-1111-1111-1111"), ["4111-1111-1111-1111"]);
        assert_eq!(found(Reason::CreditCard, "4111 1111 1111 1111 2x"), ["4111 1111 1111 1111"]);
        assert_eq!(found(Reason::CreditCard, "d1 5500-0000-0000-0004"), ["5500-0000-0000-0004"]);
        assert_eq!(found(Reason::CreditCard, "7 12-4111 1111 1111 1111"), ["4111 1111 1111 1111"]);
        assert_eq!(found(Reason::CreditCard, "4111 1111 1111 1111-5"), ["4111 1111 1111 1111"]);
        // Two cards overlap (`6 4111 1111 1111` passes Luhn too): both are masked.
        assert_eq!(found(Reason::CreditCard, "6 4111 1111 1111 1111"), ["6 4111 1111 1111 1111"]);
        // More groups than one run holds, the number in the last of them.
        let long = "1 2 3 4 5 6 7 8 9 10 11 4111 1111 1111 1111";
        assert_eq!(found(Reason::CreditCard, long), ["4111 1111 1111 1111"]);
        let long = "111 4111 111 111 1111 4111 111 111 1111 1111 111 5500-0000-0000-0004 ";
        assert_eq!(found(Reason::CreditCard, long), ["5500-0000-0000-0004"]);
    }

    #[test]
    fn credit_card_leaves_order_numbers_timestamps_and_ids_alone() {
        for clean in [
            "order 4111111111111112",      // fails Luhn
            "order 5500000000000005",      // fails Luhn
            "ts=1706193045123",            // starts with 1: no card network
            "1706193045123000000",         // a nanosecond timestamp
            "8111111111111111",            // no network starts with 8
            "41111111111111111111111",     // 23 digits: too long
            "411111111111",                // 12 digits: too short
            "id4111111111111111",          // glued to a word
            "4111111111111111x",           // glued to a word
            "4111-1111 1111-1111",         // mixed separators
            "8d4a2b10-4111-1111-1111-111", // inside a uuid-like id
        ] {
            assert!(found(Reason::CreditCard, clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn ipv4_finds_dotted_quads_and_leaves_versions() {
        assert_eq!(found(Reason::Ipv4, "10.1.2.3"), ["10.1.2.3"]);
        assert_eq!(found(Reason::Ipv4, "from 192.168.0.1:8080 to 8.8.8.8."), ["192.168.0.1", "8.8.8.8"]);
        assert_eq!(found(Reason::Ipv4, "[255.255.255.255]"), ["255.255.255.255"]);
        for clean in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "v1.2.3.4", "1.2.3.4a", "1234.1.1.1", "10.0.0.1000"] {
            assert!(found(Reason::Ipv4, clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn ipv6_finds_every_textual_form() {
        for address in [
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:db8:85a3::8a2e:370:7334",
            "2001:db8::1",
            "::1",
            "fe80::1",
            "::ffff:192.168.1.1",
            "64:ff9b::192.0.2.33",
            "1::",
        ] {
            assert_eq!(found(Reason::Ipv6, address), [address], "{address}");
        }
        assert_eq!(found(Reason::Ipv6, "peer [2001:db8::1]:443 up"), ["2001:db8::1"]);
        assert_eq!(found(Reason::Ipv6, "via fe80::1%eth0, then ::1."), ["fe80::1%eth0", "::1"]);
        assert_eq!(found(Reason::Ipv6, "net 2001:db8::/32"), ["2001:db8::"]);
        // After a label whose last letters are hex digits, which the address's text
        // would otherwise run into (found by fuzzing: a key id, then `:db9::1`).
        assert_eq!(found(Reason::Ipv6, "iface:fe80::1 up"), ["fe80::1"]);
        assert_eq!(found(Reason::Ipv6, "node:2001:db8::1,"), ["2001:db8::1"]);
        assert_eq!(found(Reason::Ipv6, "AKIAIOSFODNN7EXAMPLE:db9::1"), ["db9::1"]);
        assert_eq!(found(Reason::Ipv6, "Code:dead::1"), ["dead::1"]);
    }

    #[test]
    fn ipv6_leaves_times_mac_addresses_and_paths_alone() {
        for clean in [
            "10:30:00",
            "2024-01-15T10:30:00.123Z",
            "00:1A:2B:3C:4D:5E",
            "std::fmt::Display",
            "dead::beef",
            "Code::dead::1",
            "Code:dead::1x",
            "a:b",
            "::",
            "1:2:3:4:5:6:7:8:9",
            "2001:db8::1g",
        ] {
            assert!(found(Reason::Ipv6, clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn jwt_finds_signed_unsigned_and_encrypted_tokens() {
        let signed = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.Kp7Y2k4WmVrkQfYq0Zt0u8bC3s3v1j7mP6XHn4lH1wE";
        assert_eq!(found(Reason::Jwt, signed), [signed]);
        assert_eq!(found(Reason::Jwt, &format!("token={signed}&x=1")), [signed]);
        let unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.";
        assert_eq!(found(Reason::Jwt, &format!("({unsigned})")), [unsigned]);
        let encrypted = "eyJhbGciOiJSU0EtT0FFUCJ9.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ";
        assert_eq!(found(Reason::Jwt, encrypted), [encrypted]);
    }

    #[test]
    fn jwt_leaves_other_dotted_words_alone() {
        for clean in [
            "keyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", // inside a longer word
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",      // two parts
            "eyJhbGci.eyJzdWIiOiIxIn0.sig",              // header too short
            "eyJhbGciOiJIUzI1NiJ9..sig",                 // empty payload
            "www.example.com",
        ] {
            assert!(found(Reason::Jwt, clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn bearer_masks_the_token_after_the_word_in_any_case() {
        assert_eq!(found(Reason::Bearer, "Bearer abcdef0123456789"), ["abcdef0123456789"]);
        assert_eq!(found(Reason::Bearer, "authorization: bearer  dGVzdC10b2tlbg== (ok)"), ["dGVzdC10b2tlbg=="]);
        assert_eq!(found(Reason::Bearer, "BEARER\tab.cd-ef_gh~ij+kl/mn"), ["ab.cd-ef_gh~ij+kl/mn"]);
        // The word twice (found by fuzzing: the second was read as the first's token).
        assert_eq!(
            found(Reason::Bearer, "BeaReR  Bearer 8f14e45fceea167a5a36dedd4bea2543"),
            ["8f14e45fceea167a5a36dedd4bea2543"]
        );
        for clean in ["the bearer of bad news", "Bearer short", "Bearerabcdef0123456789", "xbearer abcdef0123456789"] {
            assert!(found(Reason::Bearer, clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn aws_access_key_finds_long_term_and_temporary_key_ids() {
        assert_eq!(found(Reason::AwsAccessKey, "AKIAIOSFODNN7EXAMPLE"), ["AKIAIOSFODNN7EXAMPLE"]);
        assert_eq!(found(Reason::AwsAccessKey, "key=ASIAY34FZKBOKMUTVV7A;"), ["ASIAY34FZKBOKMUTVV7A"]);
        for clean in ["AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPLEX", "XAKIAIOSFODNN7EXAMPLE", "AKIAiosfodnn7example"] {
            assert!(found(Reason::AwsAccessKey, clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn sensitive_keys_are_recognised_by_their_words_in_any_case() {
        for key in [
            "password",
            "db.password",
            "Authorization",
            "http.request.header.authorization",
            "access_token",
            "accessToken",
            "client-secret",
            "api_key",
            "X-Api-Key",
            "APIKey",
            "apikey",
            "set-cookie",
            "Cookie",
            "userPassword",
        ] {
            assert!(is_sensitive_key(key), "{key}");
        }
        for key in
            ["user.email", "gen_ai.usage.input_tokens", "keyboard", "monkey", "api.version", "passage", "tokenizer"]
        {
            assert!(!is_sensitive_key(key), "{key}");
        }
    }

    #[test]
    fn the_shape_pass_counts_long_values_without_overflowing() {
        let long = format!("{}@{}", "1".repeat(600), ".".repeat(300));
        let shape = Shape::of(long.as_bytes());
        assert_eq!((shape.count(DIGIT), shape.count(AT), shape.count(DOT), shape.count(COLON)), (255, 1, 255, 0));
        assert_eq!(found(Reason::Email, &format!("{} a@b.example", "x".repeat(1000))), ["a@b.example"]);
    }

    /// A secret of each detector's kind, set apart by spaces in random text made of the
    /// bytes the detectors care about, is found whatever the text around it (what the
    /// `redact_secrets` fuzz target checks, here bounded and repeatable).
    #[test]
    fn a_secret_set_apart_is_found_whatever_surrounds_it() {
        let secrets = [
            (Reason::Email, "alice.smith+tag@mail.example.com", "alice.smith+tag@mail.example.com"),
            (Reason::CreditCard, "4111111111111111", "4111111111111111"),
            (Reason::CreditCard, "5500-0000-0000-0004", "5500-0000-0000-0004"),
            (Reason::CreditCard, "4111 1111 1111 1111", "4111 1111 1111 1111"),
            (Reason::Ipv4, "10.20.30.40", "10.20.30.40"),
            (Reason::Ipv6, "2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3::8a2e:370:7334"),
            (Reason::Ipv6, "fe80::1%eth0", "fe80::1%eth0"),
            (Reason::Jwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
            (Reason::AwsAccessKey, "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
            (Reason::Bearer, "Bearer 8f14e45fceea167a5a36dedd4bea2543", "8f14e45fceea167a5a36dedd4bea2543"),
        ];
        let alphabet = b"0123456789abcdefABCDEF:.-@ _%+xyzKIASeyJ\t/=";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        for (reason, secret, masked) in secrets {
            for _ in 0..2000 {
                let mut side = |n: u64| -> String {
                    let len = next() % n;
                    (0..len).map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize])).collect()
                };
                let text = format!("{} {secret} {}", side(24), side(24));
                let found = found(reason, &text);
                assert!(found.iter().any(|f| f.contains(masked)), "{secret} in {text:?}: found {found:?}");
            }
        }
    }

    #[test]
    fn every_detector_name_maps_back_to_its_reason() {
        for reason in &Reason::ALL[..8] {
            assert_eq!(Reason::detector(reason.name()), Some(*reason));
        }
        assert_eq!(Reason::detector("blocked_values"), None);
        assert_eq!(Reason::detector("emial"), None);
    }
}
