//! Timestamps: RFC 3339, Unix epochs in any unit, and strftime-style layouts, read into
//! nanoseconds since the Unix epoch without a date library (none is needed for parsing
//! fixed offsets, and the plugin stays small).

const NANOS_PER_SEC: u64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// The unit of a Unix epoch number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn nanos(self) -> u64 {
        match self {
            Unit::Seconds => NANOS_PER_SEC,
            Unit::Millis => 1_000_000,
            Unit::Micros => 1_000,
            Unit::Nanos => 1,
        }
    }

    /// The unit of an epoch value, guessed from its magnitude: seconds until the year 5138,
    /// then milliseconds, microseconds and nanoseconds (each covers the years 1973 to 5138).
    fn of_magnitude(value: f64) -> Unit {
        let value = value.abs();
        if value < 1e11 {
            Unit::Seconds
        } else if value < 1e14 {
            Unit::Millis
        } else if value < 1e17 {
            Unit::Micros
        } else {
            Unit::Nanos
        }
    }
}

/// How a timestamp field is read: `time_format` in the config.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TimeFormat {
    /// RFC 3339 text, or an epoch number (or numeric text) in the unit its magnitude suggests.
    Auto,
    /// RFC 3339 text only.
    Rfc3339,
    /// An epoch number or numeric text; `None` guesses the unit from the magnitude.
    Epoch(Option<Unit>),
    /// A strftime-style layout.
    Layout(Layout),
}

impl TimeFormat {
    /// Reads `time_format`: `auto`, `rfc3339`, `epoch`, `epoch_s`, `epoch_ms`, `epoch_us`,
    /// `epoch_ns`, or a layout with at least one `%` directive.
    pub(crate) fn parse(text: &str) -> Result<TimeFormat, String> {
        Ok(match text {
            "auto" => TimeFormat::Auto,
            "rfc3339" => TimeFormat::Rfc3339,
            "epoch" => TimeFormat::Epoch(None),
            "epoch_s" => TimeFormat::Epoch(Some(Unit::Seconds)),
            "epoch_ms" => TimeFormat::Epoch(Some(Unit::Millis)),
            "epoch_us" => TimeFormat::Epoch(Some(Unit::Micros)),
            "epoch_ns" => TimeFormat::Epoch(Some(Unit::Nanos)),
            layout if layout.contains('%') => TimeFormat::Layout(Layout::compile(layout)?),
            other => {
                return Err(format!(
                    "`{other}` is neither auto, rfc3339, epoch, epoch_s, epoch_ms, epoch_us, epoch_ns \
                     nor a strftime layout (one with % directives, e.g. \"%d/%b/%Y:%H:%M:%S %z\")"
                ));
            }
        })
    }

    /// Reads a timestamp written as text.
    pub(crate) fn read_str(&self, text: &str, clock: &mut Clock) -> Option<u64> {
        let text = text.trim();
        match self {
            TimeFormat::Auto => rfc3339(text).or_else(|| epoch_text(text, None)),
            TimeFormat::Rfc3339 => rfc3339(text),
            TimeFormat::Epoch(unit) => epoch_text(text, *unit),
            TimeFormat::Layout(layout) => layout.read(text, clock),
        }
    }

    /// Reads a timestamp written as a JSON integer.
    pub(crate) fn read_int(&self, value: i64) -> Option<u64> {
        match self {
            TimeFormat::Auto => epoch_int(value, None),
            TimeFormat::Epoch(unit) => epoch_int(value, *unit),
            // A layout such as "%s" reads numbers written as text only.
            TimeFormat::Rfc3339 | TimeFormat::Layout(_) => None,
        }
    }

    /// Reads a timestamp written as a JSON number with a fraction.
    pub(crate) fn read_double(&self, value: f64) -> Option<u64> {
        match self {
            TimeFormat::Auto => epoch_double(value, None),
            TimeFormat::Epoch(unit) => epoch_double(value, *unit),
            TimeFormat::Rfc3339 | TimeFormat::Layout(_) => None,
        }
    }
}

/// The wall clock, read at most once per batch, for layouts that omit the year.
pub(crate) struct Clock {
    now: Option<u64>,
    read: fn() -> u64,
}

impl Clock {
    /// A clock that asks `read` for the time (in nanoseconds) the first time it is needed.
    pub(crate) fn new(read: fn() -> u64) -> Clock {
        Clock { now: None, read }
    }

    fn now(&mut self) -> u64 {
        *self.now.get_or_insert_with(self.read)
    }

    /// The year of a timestamp that does not say: the current year, unless that puts the
    /// timestamp more than a day in the future (a December line read in January), in
    /// which case the year before.
    pub(crate) fn infer_year(&mut self, month: u32, day: u32, secs_of_day: i64, offset: i64) -> Option<u64> {
        let now = self.now();
        let (year, _, _) = civil_from_days((now / NANOS_PER_SEC) as i64 / SECS_PER_DAY);
        let this_year = to_nanos(year, month, day, secs_of_day, offset, 0)?;
        if this_year > now.saturating_add(SECS_PER_DAY as u64 * NANOS_PER_SEC) {
            to_nanos(year - 1, month, day, secs_of_day, offset, 0)
        } else {
            Some(this_year)
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01: (year, month, day).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Nanoseconds since the epoch of a date, a time of day in seconds, an offset east of
/// UTC in seconds and a fraction in nanoseconds; `None` for invalid dates and instants
/// before 1970 or past what 64 bits of nanoseconds hold (the year 2554).
pub(crate) fn to_nanos(year: i64, month: u32, day: u32, secs_of_day: i64, offset: i64, nanos: u32) -> Option<u64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || !(0..=9999).contains(&year) {
        return None;
    }
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY + secs_of_day - offset;
    let secs = u64::try_from(secs).ok()?;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(u64::from(nanos))
}

/// A cursor over the bytes of a timestamp.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { bytes: text.as_bytes(), pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Between `min` and `max` decimal digits, as a number.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        u32::try_from(self.digits_u64(min, max.min(9))?).ok()
    }

    /// Between `min` and `max` (at most 19) decimal digits, as a number.
    fn digits_u64(&mut self, min: usize, max: usize) -> Option<u64> {
        let mut value: u64 = 0;
        let mut n = 0;
        while n < max.min(19)
            && let Some(b @ b'0'..=b'9') = self.peek()
        {
            value = value * 10 + u64::from(b - b'0');
            self.pos += 1;
            n += 1;
        }
        (n >= min).then_some(value)
    }

    /// A fraction of a second: one or more digits, read to nanoseconds (digits past the
    /// ninth are dropped).
    fn fraction(&mut self) -> Option<u32> {
        let mut nanos: u32 = 0;
        let mut n = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if n < 9 {
                nanos = nanos * 10 + u32::from(b - b'0');
            }
            self.pos += 1;
            n += 1;
        }
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nanos *= 10;
        }
        Some(nanos)
    }

    /// A UTC offset: `Z`, `z`, `+hh:mm`, `+hhmm` or `+hh`, in seconds east.
    fn offset(&mut self) -> Option<i64> {
        if self.eat(b'Z') || self.eat(b'z') {
            return Some(0);
        }
        let sign = match self.peek()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.pos += 1;
        let hours = self.digits(2, 2)?;
        let colon = self.eat(b':');
        let minutes = match self.digits(2, 2) {
            Some(m) => m,
            None if !colon => 0,
            None => return None,
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        Some(sign * i64::from(hours * 3600 + minutes * 60))
    }

    fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        self.pos - start
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos.min(self.bytes.len())..]
    }
}

fn secs_of_day(hour: u32, minute: u32, second: u32) -> Option<i64> {
    // 60 is a leap second; it reads as the first second of the next minute.
    (hour < 24 && minute < 60 && second <= 60).then(|| i64::from(hour * 3600 + minute * 60 + second))
}

/// RFC 3339, leniently: `T`, `t` or a space between date and time, the fraction optional,
/// and a missing offset read as UTC.
pub(crate) fn rfc3339(text: &str) -> Option<u64> {
    let mut c = Cursor::new(text);
    let year = c.digits(4, 4)?;
    let month = c.eat(b'-').then(|| c.digits(2, 2))??;
    let day = c.eat(b'-').then(|| c.digits(2, 2))??;
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return None;
    }
    let hour = c.digits(2, 2)?;
    let minute = c.eat(b':').then(|| c.digits(2, 2))??;
    let second = c.eat(b':').then(|| c.digits(2, 2))??;
    let nanos = if c.eat(b'.') || c.eat(b',') { c.fraction()? } else { 0 };
    let offset = if c.at_end() { 0 } else { c.offset()? };
    if !c.at_end() {
        return None;
    }
    to_nanos(i64::from(year), month, day, secs_of_day(hour, minute, second)?, offset, nanos)
}

/// An epoch written as text: digits with an optional fraction, read exactly.
fn epoch_text(text: &str, unit: Option<Unit>) -> Option<u64> {
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (text, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = int.parse().ok()?;
    let unit = unit.unwrap_or_else(|| Unit::of_magnitude(whole as f64));
    let per = unit.nanos();
    let mut nanos = whole.checked_mul(per)?;
    // The fraction, in units of `per`: digits beyond what a nanosecond resolves are dropped.
    let mut scale = per;
    for b in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        nanos = nanos.checked_add(u64::from(b - b'0') * scale)?;
    }
    Some(nanos)
}

fn epoch_int(value: i64, unit: Option<Unit>) -> Option<u64> {
    let value = u64::try_from(value).ok()?;
    let unit = unit.unwrap_or_else(|| Unit::of_magnitude(value as f64));
    value.checked_mul(unit.nanos())
}

/// An epoch written as a JSON number with a fraction. A double cannot hold nanoseconds
/// of today's dates exactly, so the result is rounded to the microsecond.
fn epoch_double(value: f64, unit: Option<Unit>) -> Option<u64> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let unit = unit.unwrap_or_else(|| Unit::of_magnitude(value));
    let micros = (value * (unit.nanos() as f64 / 1_000.0)).round();
    if micros >= (u64::MAX / 1_000) as f64 {
        return None;
    }
    Some(micros as u64 * 1_000)
}

/// One piece of a compiled layout.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    /// Text that must appear as it is.
    Literal(u8),
    /// One or more spaces (a space in the layout; also what pads `%e`).
    Spaces,
    Year,
    Year2,
    Month,
    MonthName,
    Day,
    DayOfYear,
    Hour,
    Hour12,
    Minute,
    Second,
    /// `%f`: the digits of a fraction of a second.
    Fraction,
    /// `%.f`: an optional `.` and fraction.
    OptionalFraction,
    Offset,
    ZoneName,
    AmPm,
    WeekdayName,
    EpochSeconds,
}

/// A strftime-style layout, compiled once at init.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    items: Vec<Item>,
}

impl Layout {
    /// Compiles a layout. Directives: `%Y %y %m %b %h %B %d %e %j %H %I %M %S %f %.f %z %Z
    /// %p %a %A %s %T %F %D %R %%`; any other `%` is an error.
    pub(crate) fn compile(layout: &str) -> Result<Layout, String> {
        let mut items = Vec::new();
        let mut chars = layout.char_indices().peekable();
        while let Some((at, ch)) = chars.next() {
            if ch == ' ' {
                if items.last() != Some(&Item::Spaces) {
                    items.push(Item::Spaces);
                }
                continue;
            }
            if ch != '%' {
                let mut buf = [0u8; 4];
                items.extend(ch.encode_utf8(&mut buf).bytes().map(Item::Literal));
                continue;
            }
            let Some((_, directive)) = chars.next() else {
                return Err("the layout ends with a lone `%`".into());
            };
            match directive {
                'Y' => items.push(Item::Year),
                'y' => items.push(Item::Year2),
                'm' => items.push(Item::Month),
                'b' | 'h' | 'B' => items.push(Item::MonthName),
                'd' => items.push(Item::Day),
                'e' => items.extend([Item::Spaces, Item::Day]),
                'j' => items.push(Item::DayOfYear),
                'H' => items.push(Item::Hour),
                'I' => items.push(Item::Hour12),
                'M' => items.push(Item::Minute),
                'S' => items.push(Item::Second),
                'f' => items.push(Item::Fraction),
                '.' if chars.peek().map(|&(_, c)| c) == Some('f') => {
                    chars.next();
                    items.push(Item::OptionalFraction);
                }
                'z' => items.push(Item::Offset),
                'Z' => items.push(Item::ZoneName),
                'p' => items.push(Item::AmPm),
                'a' | 'A' => items.push(Item::WeekdayName),
                's' => items.push(Item::EpochSeconds),
                'T' => items.extend([Item::Hour, Item::Literal(b':'), Item::Minute, Item::Literal(b':'), Item::Second]),
                'F' => items.extend([Item::Year, Item::Literal(b'-'), Item::Month, Item::Literal(b'-'), Item::Day]),
                'D' => items.extend([Item::Month, Item::Literal(b'/'), Item::Day, Item::Literal(b'/'), Item::Year2]),
                'R' => items.extend([Item::Hour, Item::Literal(b':'), Item::Minute]),
                '%' => items.push(Item::Literal(b'%')),
                other => return Err(format!("unknown directive `%{other}` at byte {at}")),
            }
        }
        if items.contains(&Item::Hour12) != items.contains(&Item::AmPm) {
            return Err("`%I` (12-hour clock) and `%p` (AM/PM) go together".into());
        }
        Ok(Layout { items })
    }

    /// Reads `text` with the layout; all of it must match. Fields the layout lacks
    /// default to the start of their range (the year to the inferred current year, the
    /// offset to UTC).
    pub(crate) fn read(&self, text: &str, clock: &mut Clock) -> Option<u64> {
        let mut c = Cursor::new(text);
        let (mut year, mut month, mut day, mut yday) = (None, 1, 1, None);
        let (mut hour, mut minute, mut second, mut nanos, mut offset) = (0, 0, 0, 0, 0);
        let mut pm = None;
        let mut epoch = None;
        for item in &self.items {
            match item {
                Item::Literal(b) => {
                    if !c.eat(*b) {
                        return None;
                    }
                }
                Item::Spaces => {
                    c.skip_spaces();
                }
                Item::Year => year = Some(i64::from(c.digits(4, 4)?)),
                // POSIX: 69-99 are 1969-1999, 00-68 are 2000-2068.
                Item::Year2 => year = Some(c.digits(2, 2).map(|y| if y >= 69 { 1900 + y } else { 2000 + y })?.into()),
                Item::Month => month = c.digits(1, 2)?,
                Item::MonthName => month = month_name(&mut c)?,
                Item::Day => day = c.digits(1, 2)?,
                Item::DayOfYear => yday = Some(c.digits(1, 3)?),
                Item::Hour | Item::Hour12 => hour = c.digits(1, 2)?,
                Item::Minute => minute = c.digits(1, 2)?,
                Item::Second => second = c.digits(1, 2)?,
                Item::Fraction => nanos = c.fraction()?,
                Item::OptionalFraction => {
                    if c.eat(b'.') || c.eat(b',') {
                        nanos = c.fraction()?;
                    }
                }
                Item::Offset => offset = c.offset()?,
                Item::ZoneName => {
                    let rest = c.rest();
                    let len = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
                    match &rest[..len] {
                        b"UTC" | b"GMT" | b"Z" | b"utc" | b"gmt" => c.pos += len,
                        _ => return None,
                    }
                }
                Item::AmPm => {
                    let rest = c.rest();
                    let word = rest.get(..2)?;
                    pm = Some(if word.eq_ignore_ascii_case(b"pm") {
                        true
                    } else if word.eq_ignore_ascii_case(b"am") {
                        false
                    } else {
                        return None;
                    });
                    c.pos += 2;
                }
                Item::WeekdayName => {
                    let len = c.rest().iter().take_while(|b| b.is_ascii_alphabetic()).count();
                    if len < 3 {
                        return None;
                    }
                    c.pos += len;
                }
                Item::EpochSeconds => epoch = Some(c.digits_u64(1, 12)?),
            }
        }
        c.skip_spaces();
        if !c.at_end() {
            return None;
        }
        if let Some(secs) = epoch {
            return secs.checked_mul(NANOS_PER_SEC)?.checked_add(u64::from(nanos));
        }
        if let Some(pm) = pm {
            if !(1..=12).contains(&hour) {
                return None;
            }
            hour = hour % 12 + if pm { 12 } else { 0 };
        }
        if let Some(yday) = yday {
            // A day of the year stands in for month and day.
            let year = year?;
            let days = days_from_civil(year, 1, 1) + i64::from(yday) - 1;
            let (y, m, d) = civil_from_days(days);
            if y != year || yday == 0 {
                return None;
            }
            (month, day) = (m, d);
        }
        let secs = secs_of_day(hour, minute, second)?;
        match year {
            Some(year) => to_nanos(year, month, day, secs, offset, nanos),
            None => Some(clock.infer_year(month, day, secs, offset)?.checked_add(u64::from(nanos))?),
        }
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// An English month name, abbreviated to three letters or in full, in any case.
pub(crate) fn month_name_bytes(word: &[u8]) -> Option<u32> {
    if word.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| {
            let m = m.as_bytes();
            (word.len() == 3 || word.len() == m.len()) && word.eq_ignore_ascii_case(&m[..word.len()])
        })
        .map(|i| i as u32 + 1)
}

fn month_name(c: &mut Cursor<'_>) -> Option<u32> {
    let len = c.rest().iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let month = month_name_bytes(&c.rest()[..len])?;
    c.pos += len;
    Some(month)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_706_178_645_123_000_000; // 2024-01-25T10:30:45.123Z

    fn fixed_clock() -> u64 {
        // 2024-03-01T00:00:00Z
        1_709_251_200 * NANOS_PER_SEC
    }

    fn read(format: &str, text: &str) -> Option<u64> {
        TimeFormat::parse(format).unwrap().read_str(text, &mut Clock::new(fixed_clock))
    }

    #[test]
    fn rfc3339_reads_fractions_offsets_and_lenient_separators() {
        assert_eq!(rfc3339("2024-01-25T10:30:45.123Z"), Some(T));
        assert_eq!(rfc3339("2024-01-25T11:30:45.123+01:00"), Some(T));
        assert_eq!(rfc3339("2024-01-25t10:30:45.123z"), Some(T));
        assert_eq!(rfc3339("2024-01-25 10:30:45.123"), Some(T));
        assert_eq!(rfc3339("2024-01-25T05:00:45.123-0530"), Some(T));
        assert_eq!(rfc3339("2024-01-25T10:30:45.123456789Z"), Some(T + 456_789));
        assert_eq!(rfc3339("2024-01-25T10:30:45.1234567891Z"), Some(T + 456_789));
        assert_eq!(rfc3339("2024-01-25T10:30:45Z"), Some(T - 123_000_000));
    }

    #[test]
    fn rfc3339_refuses_what_is_not_a_valid_instant() {
        for bad in [
            "",
            "2024-01-25",
            "2024-13-25T10:30:45Z",
            "2024-02-30T10:30:45Z",
            "2024-01-25T24:30:45Z",
            "2024-01-25T10:30:45.Z",
            "2024-01-25T10:30:45Zjunk",
            "1969-12-31T23:59:59Z",
            "2024-01-25T10:30:45+25:00",
            "２０２４-01-25T10:30:45Z",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn epochs_are_read_in_the_unit_their_magnitude_suggests() {
        let auto = TimeFormat::Auto;
        assert_eq!(auto.read_int(1_706_178_645), Some(T - 123_000_000));
        assert_eq!(auto.read_int(1_706_178_645_123), Some(T));
        assert_eq!(auto.read_int(1_706_178_645_123_000), Some(T));
        assert_eq!(auto.read_int(1_706_178_645_123_000_000), Some(T));
        assert_eq!(auto.read_int(-5), None);
        assert_eq!(auto.read_double(1_706_178_645.123), Some(T));
        assert_eq!(auto.read_double(1_706_178_645_123.0), Some(T));
        assert_eq!(auto.read_double(f64::NAN), None);
        assert_eq!(read("auto", "1706178645.123"), Some(T));
        assert_eq!(read("auto", "1706178645123"), Some(T));
        assert_eq!(read("epoch", "1706178645.123456789"), Some(T + 456_789));
    }

    #[test]
    fn a_configured_epoch_unit_wins_over_the_magnitude() {
        assert_eq!(read("epoch_ms", "1706178645123"), Some(T));
        // Milliseconds read as seconds are past the year 2554: not a time.
        assert_eq!(read("epoch_s", "1706178645123"), None);
        assert_eq!(read("epoch_s", "1706178645"), Some(T - 123_000_000));
        assert_eq!(read("epoch_us", "1706178645123000.5"), Some(T + 500));
        assert_eq!(read("epoch_ns", "1706178645123000000"), Some(T));
        assert_eq!(TimeFormat::parse("epoch_ms").unwrap().read_int(1_706_178_645_123), Some(T));
        assert_eq!(read("epoch_s", "99999999999999999999"), None);
        assert_eq!(read("epoch", "12a"), None);
        assert_eq!(read("rfc3339", "1706178645"), None);
    }

    #[test]
    fn layouts_read_access_log_and_other_common_timestamps() {
        assert_eq!(read("%d/%b/%Y:%H:%M:%S %z", "25/Jan/2024:11:30:45 +0100"), Some(T - 123_000_000));
        assert_eq!(read("%Y-%m-%d %H:%M:%S%.f", "2024-01-25 10:30:45.123"), Some(T));
        assert_eq!(read("%Y-%m-%d %H:%M:%S%.f", "2024-01-25 10:30:45"), Some(T - 123_000_000));
        assert_eq!(read("%Y-%m-%dT%H:%M:%S.%f%z", "2024-01-25T10:30:45.123Z"), Some(T));
        assert_eq!(read("%a %b %e %T %Z %Y", "Fri Jan  5 10:30:45 UTC 2024"), Some(1_704_450_645 * NANOS_PER_SEC));
        assert_eq!(
            read("%m/%d/%Y %I:%M:%S %p", "01/25/2024 10:30:45 PM"),
            Some(T - 123_000_000 + 12 * 3600 * NANOS_PER_SEC)
        );
        assert_eq!(
            read("%m/%d/%Y %I:%M:%S %p", "01/25/2024 12:30:45 am"),
            Some(T - 123_000_000 - 10 * 3600 * NANOS_PER_SEC)
        );
        assert_eq!(read("%s", "1706178645"), Some(T - 123_000_000));
        assert_eq!(read("%s", "9999999999"), Some(9_999_999_999 * NANOS_PER_SEC));
        assert_eq!(read("%s", "999999999999"), None);
        assert_eq!(read("%Y.%j", "2024.025"), Some(1_706_140_800 * NANOS_PER_SEC));
        assert_eq!(read("%F %T", "2024-01-25 10:30:45"), Some(T - 123_000_000));
        assert_eq!(read("%D %R", "01/25/24 10:30"), Some(T - 45_123_000_000));
        assert_eq!(read("%d %B %Y", "25 january 2024"), Some(1_706_140_800 * NANOS_PER_SEC));
    }

    #[test]
    fn layouts_without_a_year_take_the_current_one_unless_that_is_the_future() {
        // The clock says 2024-03-01: January is this year, December was last year.
        assert_eq!(read("%b %e %H:%M:%S", "Jan 25 10:30:45"), Some(T - 123_000_000));
        assert_eq!(read("%b %e %H:%M:%S", "Dec 31 23:59:59"), Some(1_704_067_199 * NANOS_PER_SEC));
        assert_eq!(read("%b %e %H:%M:%S", "Mar  2 00:00:00"), Some(1_709_337_600 * NANOS_PER_SEC));
    }

    #[test]
    fn layouts_refuse_text_that_does_not_match() {
        let layout = "%d/%b/%Y:%H:%M:%S %z";
        for bad in [
            "",
            "25/Jan/2024",
            "25/Foo/2024:11:30:45 +0100",
            "25/Jan/2024:11:30:45 +0100 trailing",
            "32/Jan/2024:11:30:45 +0100",
        ] {
            assert_eq!(read(layout, bad), None, "{bad}");
        }
        assert_eq!(read("%I:%M %p", "13:00 PM"), None);
    }

    #[test]
    fn bad_layouts_and_names_are_config_errors_that_say_why() {
        assert!(TimeFormat::parse("%Q").unwrap_err().contains("unknown directive `%Q`"));
        assert!(TimeFormat::parse("%Y %").unwrap_err().contains("lone `%`"));
        assert!(TimeFormat::parse("%I:%M").unwrap_err().contains("%p"));
        assert!(TimeFormat::parse("iso").unwrap_err().contains("`iso` is neither"));
    }

    #[test]
    fn civil_dates_round_trip_through_day_numbers() {
        for days in [-1_000_000, -1, 0, 1, 19_747, 60, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19_747), (2024, 1, 25));
        assert_eq!(to_nanos(2024, 2, 29, 0, 0, 0), Some(1_709_164_800 * NANOS_PER_SEC));
        assert_eq!(to_nanos(2023, 2, 29, 0, 0, 0), None);
        assert_eq!(to_nanos(9999, 12, 31, 0, 0, 0), None);
    }
}
