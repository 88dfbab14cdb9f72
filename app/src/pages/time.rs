//! Dates and times as the pages show them. Written out by hand: chrono's
//! `format` brings a strftime interpreter into the WASM bundle.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2026-11-23`
pub fn date(time: DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02}", time.year(), time.month(), time.day())
}

/// `2026-11-23 14:05 UTC`
pub fn minute(time: DateTime<Utc>) -> String {
    format!("{} {:02}:{:02} UTC", date(time), time.hour(), time.minute())
}

/// `2026-11-23 14:05:09 UTC`
pub fn second(time: DateTime<Utc>) -> String {
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        date(time),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// `November 23, 2026`
pub fn long_date(time: DateTime<Utc>) -> String {
    let month = MONTHS[time.month0() as usize % 12];
    format!("{month} {}, {}", time.day(), time.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn formats_match_what_strftime_would_print() {
        let time = Utc.with_ymd_and_hms(2026, 3, 7, 4, 5, 9).unwrap();
        assert_eq!(date(time), time.format("%Y-%m-%d").to_string());
        assert_eq!(minute(time), time.format("%Y-%m-%d %H:%M UTC").to_string());
        assert_eq!(
            second(time),
            time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        );
        assert_eq!(long_date(time), time.format("%B %-d, %Y").to_string());
    }
}
