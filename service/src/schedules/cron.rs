//! When a schedule fires: a five-field cron expression read in an IANA time
//! zone, or a plain interval.
//!
//! The rule for the days the clocks change (docs/triggers.md):
//! - A wall-clock time the clocks skip (02:30 on Europe/Berlin's
//!   spring-forward day) fires as much later as the clocks jumped: at 03:30
//!   summer time, the instant 02:30 winter time would have been (RFC 5545).
//! - A wall-clock time the clocks pass twice (01:30 on New York's fall-back
//!   day) fires once, at its first pass, unless the hour field is `*`: an
//!   every-hour or every-minute schedule fires at both passes, so it keeps
//!   firing every real hour or minute.
//! - A slot is an instant: two wall-clock times that land on one instant
//!   fire once.
//!
//! Intervals are counted from the Unix epoch (every 15 minutes is :00, :15,
//! :30 and :45 UTC), so they know no time zone.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan as _};

/// How far ahead a cron expression is searched (a 29 February fires within
/// eight years); one that does not fire in that time is refused.
const SEARCH_DAYS: i32 = 9 * 366;
pub const MIN_INTERVAL_SECS: i64 = 60;
pub const MAX_INTERVAL_SECS: i64 = 31 * 86_400;

/// A parsed cron expression: a bit per allowed value of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// `*` in the day-of-month or day-of-week field: the two are joined
    /// with AND when either is `*`, with OR when both are restricted.
    any_day: bool,
    any_weekday: bool,
    any_hour: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Cron {
    /// Five fields (minute hour day-of-month month day-of-week) with `*`,
    /// lists, ranges, steps and English month and day names, or one of
    /// `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`. The error
    /// names the field.
    pub fn parse(expression: &str) -> Result<Self, String> {
        let expression = expression.trim();
        if expression.chars().count() > 120 {
            return Err("must be at most 120 characters".to_owned());
        }
        let expanded = match expression.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *".to_owned(),
            "@monthly" => "0 0 1 * *".to_owned(),
            "@weekly" => "0 0 * * 0".to_owned(),
            "@daily" | "@midnight" => "0 0 * * *".to_owned(),
            "@hourly" => "0 * * * *".to_owned(),
            other if other.starts_with('@') => {
                return Err(format!(
                    "`{expression}` is not known; use five fields or @yearly, @monthly, \
                     @weekly, @daily or @hourly"
                ));
            }
            _ => expression.to_owned(),
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!(
                "has {} fields; a cron expression has five: minute hour day-of-month month \
                 day-of-week",
                fields.len()
            ));
        };
        let weekdays = field(weekday, "day of week", 0, 7, &WEEKDAYS, 0)?;
        // 7 is Sunday too.
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        let cron = Self {
            minutes: field(minute, "minute", 0, 59, &[], 0)?,
            hours: field(hour, "hour", 0, 23, &[], 0)?,
            days: field(day, "day of month", 1, 31, &[], 0)?,
            months: field(month, "month", 1, 12, &MONTHS, 1)?,
            weekdays,
            any_day: day == "*",
            any_weekday: weekday == "*",
            any_hour: hour == "*",
        };
        Ok(cron)
    }

    fn day_matches(&self, date: Date) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let day = self.days & (1 << date.day()) != 0;
        let weekday = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        match (self.any_day, self.any_weekday) {
            (false, false) => day || weekday,
            _ => day && weekday,
        }
    }

    /// Calls `each` with every wall-clock time the expression names, in
    /// order, from `from` (included) on, until it answers false or the
    /// search's end.
    fn civil_times(&self, from: DateTime, mut each: impl FnMut(DateTime) -> bool) {
        let mut date = from.date();
        for day in 0..SEARCH_DAYS {
            if self.day_matches(date) {
                for hour in 0..24i8 {
                    if self.hours & (1 << hour) == 0 || (day == 0 && hour < from.hour()) {
                        continue;
                    }
                    for minute in 0..60i8 {
                        if self.minutes & (1 << minute) == 0
                            || (day == 0 && hour == from.hour() && minute < from.minute())
                        {
                            continue;
                        }
                        if !each(date.at(hour, minute, 0, 0)) {
                            return;
                        }
                    }
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => return,
            }
        }
    }

    /// The instants a wall-clock time fires at, by the rule above.
    fn instants(&self, zone: &TimeZone, civil: DateTime) -> [Option<Timestamp>; 2] {
        let at = |offset: jiff::tz::Offset| offset.to_timestamp(civil).ok();
        match zone.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => [at(offset), None],
            // Read with the offset before the jump: later by the gap.
            AmbiguousOffset::Gap { before, .. } => [at(before), None],
            AmbiguousOffset::Fold { before, after } => {
                [at(before), self.any_hour.then(|| at(after)).flatten()]
            }
        }
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, zone: &TimeZone, after: Timestamp) -> Option<Timestamp> {
        let from = zone.to_datetime(after);
        // A fast first look, exact unless the clocks change nearby.
        let mut first = None;
        self.civil_times(from, |civil| {
            first = self
                .instants(zone, civil)
                .into_iter()
                .flatten()
                .filter(|slot| *slot > after)
                .min();
            first.is_none()
        });
        let first = first?;
        let day = SignedDuration::from_hours(24);
        let change_near = zone
            .following(after.checked_sub(day).ok()?)
            .next()
            .is_some_and(|change| change.timestamp() <= first.checked_add(day).unwrap_or(first));
        if !change_near {
            return Some(first);
        }
        // Near a change, wall-clock order is not time order: look at every
        // wall-clock time from a day before to a day after.
        let start = from.checked_sub(1.day()).ok()?;
        let end = zone.to_datetime(first).checked_add(1.day()).ok()?;
        let mut best = first;
        self.civil_times(start, |civil| {
            for slot in self.instants(zone, civil).into_iter().flatten() {
                if slot > after && slot < best {
                    best = slot;
                }
            }
            civil <= end
        });
        Some(best)
    }
}

/// One field: a bit per allowed value between `low` and `high`; `names`
/// spell the values from `name_base` on.
fn field(
    text: &str,
    what: &str,
    low: u32,
    high: u32,
    names: &[&str],
    name_base: u32,
) -> Result<u64, String> {
    let bad = |why: &str| format!("the {what} field `{text}` {why}");
    let value = |part: &str| -> Result<u32, String> {
        let lower = part.to_ascii_lowercase();
        if let Some(index) = names.iter().position(|name| *name == lower) {
            return Ok(index as u32 + name_base);
        }
        let number: u32 = part
            .parse()
            .map_err(|_| bad(&format!("has `{part}`, which is not a number")))?;
        if number < low || number > high {
            return Err(bad(&format!("has {number}, outside {low}–{high}")));
        }
        Ok(number)
    };
    if text.is_empty() {
        return Err(bad("is empty"));
    }
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| bad(&format!("has step `{step}`, which is not a number")))?;
                if step == 0 || step > high {
                    return Err(bad(&format!("has step {step}, outside 1–{high}")));
                }
                (range, step)
            }
            None => (part, 1),
        };
        let (first, last) = if range == "*" {
            (low, high)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(bad(&format!("has the range {a}-{b}, which runs backwards")));
            }
            (a, b)
        } else {
            let a = value(range)?;
            // `5/15` is 5, 20, 35, 50.
            (a, if part.contains('/') { high } else { a })
        };
        let mut at = first;
        while at <= last {
            bits |= 1 << at;
            at += step;
        }
    }
    Ok(bits)
}

/// When a schedule fires.
#[derive(Clone, Debug)]
pub enum Timing {
    Cron { cron: Cron, zone: TimeZone },
    Every { seconds: i64 },
}

impl Timing {
    /// From a schedule's columns; the error names the field.
    pub fn new(
        cron: Option<&str>,
        time_zone: &str,
        every_seconds: Option<i64>,
    ) -> Result<Self, (&'static str, String)> {
        match (cron, every_seconds) {
            (Some(expression), None) => {
                let cron = Cron::parse(expression).map_err(|why| ("cron", why))?;
                let zone = zone(time_zone)?;
                let timing = Self::Cron { cron, zone };
                if timing.next_after(Timestamp::now()).is_none() {
                    return Err((
                        "cron",
                        "never fires (no such date in the next eight years)".to_owned(),
                    ));
                }
                Ok(timing)
            }
            (None, Some(seconds)) if (MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&seconds) => {
                Ok(Self::Every { seconds })
            }
            (None, Some(_)) => Err((
                "every_seconds",
                format!(
                    "must be from {MIN_INTERVAL_SECS} (a minute) to {MAX_INTERVAL_SECS} (31 days)"
                ),
            )),
            (Some(_), Some(_)) => Err((
                "cron",
                "give either a cron expression or every_seconds, not both".to_owned(),
            )),
            (None, None) => Err((
                "cron",
                "give a cron expression (with time_zone) or every_seconds".to_owned(),
            )),
        }
    }

    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Cron { cron, zone } => cron.next_after(zone, after),
            Self::Every { seconds } => {
                let now = after.as_second();
                Timestamp::from_second(now.div_euclid(*seconds) * seconds + seconds).ok()
            }
        }
    }

    /// The next `count` slots after `after`.
    pub fn upcoming(&self, after: Timestamp, count: usize) -> Vec<Timestamp> {
        let mut slots = Vec::with_capacity(count);
        let mut at = after;
        while slots.len() < count {
            let Some(next) = self.next_after(at) else {
                break;
            };
            slots.push(next);
            at = next;
        }
        slots
    }

    /// The last slot at or before `at`, looking back from `since` (the
    /// first slot not yet fired); `None` when no slot lies between.
    pub fn last_at_or_before(&self, since: Timestamp, at: Timestamp) -> Option<Timestamp> {
        if since > at {
            return None;
        }
        match self {
            Self::Every { seconds } => {
                let last = at.as_second().div_euclid(*seconds) * seconds;
                Timestamp::from_second(last)
                    .ok()
                    .filter(|last| *last >= since)
            }
            Self::Cron { .. } => {
                // Bounded: at most a year of every-minute slots.
                let mut last = since;
                for _ in 0..530_000 {
                    match self.next_after(last) {
                        Some(next) if next <= at => last = next,
                        _ => return Some(last),
                    }
                }
                Some(last)
            }
        }
    }
}

/// An IANA time zone by name (`Europe/Berlin`, `UTC`).
pub fn zone(name: &str) -> Result<TimeZone, (&'static str, String)> {
    if name.is_empty() || name.len() > 64 {
        return Err((
            "time_zone",
            "must name an IANA time zone, such as Europe/Berlin".to_owned(),
        ));
    }
    TimeZone::get(name).map_err(|_| {
        (
            "time_zone",
            format!("`{name}` is not an IANA time zone (such as Europe/Berlin or UTC)"),
        )
    })
}

pub fn to_chrono(at: Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond() as u32)
        .unwrap_or_default()
}

pub fn from_chrono(at: chrono::DateTime<chrono::Utc>) -> Timestamp {
    Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(expression: &str, zone: &str, from: &str, count: usize) -> Vec<String> {
        let timing = Timing::new(Some(expression), zone, None).unwrap();
        let from: Timestamp = from.parse().unwrap();
        timing
            .upcoming(from, count)
            .into_iter()
            .map(|slot| slot.to_string())
            .collect()
    }

    #[test]
    fn fields_parse_with_lists_ranges_steps_and_names() {
        let cron = Cron::parse("*/15 9-17 * JAN,jul mon-fri").unwrap();
        assert_eq!(cron.minutes, 1 | 1 << 15 | 1 << 30 | 1 << 45);
        assert_eq!(cron.hours.count_ones(), 9);
        assert_eq!(cron.months, 1 << 1 | 1 << 7);
        assert_eq!(cron.weekdays, 0b0111110);
        assert_eq!(Cron::parse("0 0 * * 7").unwrap().weekdays, 1, "7 is Sunday");
        assert_eq!(
            Cron::parse("5/20 * * * *").unwrap().minutes,
            1 << 5 | 1 << 25 | 1 << 45
        );
        assert_eq!(
            Cron::parse("@daily").unwrap(),
            Cron::parse("0 0 * * *").unwrap()
        );
        for (bad, says) in [
            ("* * * *", "has 4 fields"),
            ("60 * * * *", "minute field `60` has 60, outside 0–59"),
            ("* 5-2 * * *", "runs backwards"),
            ("*/0 * * * *", "step 0"),
            ("* * * foo *", "month field `foo`"),
            ("@reboot", "not known"),
        ] {
            let error = Cron::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
        let never = Timing::new(Some("0 0 30 2 *"), "UTC", None).unwrap_err();
        assert_eq!(never.0, "cron");
        assert!(
            Timing::new(Some("0 0 * * *"), "Mars/Olympus", None)
                .unwrap_err()
                .1
                .contains("not an IANA time zone")
        );
    }

    #[test]
    fn a_skipped_time_fires_once_as_much_later_as_the_clocks_jumped() {
        // 2027-03-28: Berlin goes from 02:00 CET to 03:00 CEST.
        assert_eq!(
            slots("30 2 * * *", "Europe/Berlin", "2027-03-27T00:00:00Z", 3),
            [
                "2027-03-27T01:30:00Z",
                "2027-03-28T01:30:00Z",
                "2027-03-29T00:30:00Z"
            ]
        );
        // 02:30 and 03:30 land on one instant: it fires once.
        assert_eq!(
            slots("30 2,3 * * *", "Europe/Berlin", "2027-03-27T23:00:00Z", 2),
            ["2027-03-28T01:30:00Z", "2027-03-29T00:30:00Z"]
        );
    }

    #[test]
    fn a_repeated_time_fires_once_unless_the_hour_is_every_hour() {
        // 2027-11-07: New York goes from 02:00 EDT back to 01:00 EST.
        assert_eq!(
            slots("30 1 * * *", "America/New_York", "2027-11-06T12:00:00Z", 2),
            ["2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"]
        );
        // Hourly: 00:30 EDT, 01:30 EDT, 01:30 EST, 02:30 EST, every real hour.
        assert_eq!(
            slots("30 * * * *", "America/New_York", "2027-11-07T04:00:00Z", 4),
            [
                "2027-11-07T04:30:00Z",
                "2027-11-07T05:30:00Z",
                "2027-11-07T06:30:00Z",
                "2027-11-07T07:30:00Z"
            ]
        );
    }

    #[test]
    fn every_minute_fires_each_real_minute_across_both_changes() {
        for (zone, from) in [
            ("Europe/Berlin", "2027-03-28T00:30:00Z"),
            ("America/New_York", "2027-11-07T05:30:00Z"),
        ] {
            let got = slots("* * * * *", zone, from, 120);
            let from: Timestamp = from.parse().unwrap();
            let want: Vec<String> = (1..=120)
                .map(|minute| (from + SignedDuration::from_mins(minute)).to_string())
                .collect();
            assert_eq!(got, want, "{zone}");
        }
    }

    #[test]
    fn intervals_count_from_the_epoch_and_the_last_missed_slot_is_found() {
        let every = Timing::new(None, "UTC", Some(900)).unwrap();
        let at: Timestamp = "2027-01-01T10:07:00Z".parse().unwrap();
        assert_eq!(
            every.next_after(at).unwrap().to_string(),
            "2027-01-01T10:15:00Z"
        );
        let since: Timestamp = "2027-01-01T10:15:00Z".parse().unwrap();
        let now: Timestamp = "2027-01-01T13:20:00Z".parse().unwrap();
        assert_eq!(
            every.last_at_or_before(since, now).unwrap().to_string(),
            "2027-01-01T13:15:00Z"
        );
        let daily = Timing::new(Some("0 6 * * *"), "Europe/Berlin", None).unwrap();
        let since: Timestamp = "2027-06-01T04:00:00Z".parse().unwrap();
        let now: Timestamp = "2027-06-04T03:00:00Z".parse().unwrap();
        assert_eq!(
            daily.last_at_or_before(since, now).unwrap().to_string(),
            "2027-06-03T04:00:00Z"
        );
        assert!(Timing::new(None, "UTC", Some(59)).is_err());
    }
}
