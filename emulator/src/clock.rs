//! UTC time as STS writes it: Unix seconds to and from the two formats STS
//! uses (`2026-01-01T00:00:00.000Z` and SigV4's `20260101T000000Z`).

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// `2026-01-01T00:00:00.000Z`: STS writes whole seconds with milliseconds.
const ISO8601: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z");

/// SigV4's basic format, `20260101T000000Z`.
const AMZ_DATE: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// The HTTP `Date` header's format (RFC 9110 IMF-fixdate).
const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// `Sun, 06 Nov 1994 08:49:37 GMT`: an HTTP `Date` header.
pub fn http_date(secs: i64) -> String {
    format(secs, HTTP_DATE)
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn format(secs: i64, format: &[FormatItem<'_>]) -> String {
    // Every timestamp here is now ± a few days or an expiry within 12 h of
    // now, far inside what `time` represents; the epoch is a harmless
    // fallback that tests would notice.
    OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(format)
        .unwrap_or_default()
}

/// ISO 8601 / RFC 3339 in UTC with milliseconds, as STS writes timestamps:
/// `2026-01-01T00:00:00.000Z`.
pub fn iso8601(secs: i64) -> String {
    format(secs, ISO8601)
}

/// SigV4's basic format: `20260101T000000Z`.
pub fn amz_date(secs: i64) -> String {
    format(secs, AMZ_DATE)
}

/// Parses [`iso8601`]'s format (`2026-01-01T00:00:00.000Z`).
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let t = PrimitiveDateTime::parse(s, ISO8601).ok()?;
    Some(t.assume_utc().unix_timestamp())
}

/// Parses SigV4's `YYYYMMDDTHHMMSSZ`.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let t = PrimitiveDateTime::parse(s, AMZ_DATE).ok()?;
    Some(t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_767_225_600), "2026-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(amz_date(1_767_225_661), "20260101T000101Z");
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(parse_amz_date("20260101T000101Z"), Some(1_767_225_661));
        assert_eq!(parse_amz_date("20000229T000000Z"), Some(951_782_400));
        assert_eq!(parse_amz_date("2026-01-01T00:00:00Z"), None);
        assert_eq!(parse_amz_date("20260101T000101"), None);
        assert_eq!(parse_amz_date("20260230T000000Z"), None, "no 30 February");
        assert_eq!(parse_amz_date("20260101T240000Z"), None);
    }

    #[test]
    fn round_trips_every_day_for_centuries() {
        for day in -40_000..120_000 {
            let secs = day * 86_400 + 12_345;
            assert_eq!(parse_amz_date(&amz_date(secs)), Some(secs));
            assert_eq!(parse_iso8601(&iso8601(secs)), Some(secs));
        }
    }
}
