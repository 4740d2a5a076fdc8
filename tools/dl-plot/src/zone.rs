//! The zone of the time axis: a fixed offset, or a named IANA zone whose offset changes with
//! daylight saving time (`Europe/Berlin`), from chrono-tz's built-in copy of the zone database.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _};
use chrono_tz::Tz;
use dripline_store::TimeZone;

/// A time zone for tick positions and labels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Zone {
    /// A fixed offset east of UTC.
    Fixed(FixedOffset),
    /// A named zone: the offset depends on the date.
    Named(Tz),
}

/// `--tz`: the zone of the axis, and the same zone as the store reads it (for `--since`
/// and `--until` without an offset, as dl-export reads them).
#[derive(Clone, Debug)]
pub struct ZoneArg {
    /// For the axis.
    pub zone: Zone,
    /// For the database session.
    pub store: TimeZone,
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone::Fixed(FixedOffset::east_opt(0).expect("0 is a valid offset"))
    }

    /// A fixed zone `seconds` east of UTC (UTC if out of range).
    pub fn fixed(seconds: i32) -> Zone {
        FixedOffset::east_opt(seconds).map_or_else(Zone::utc, Zone::Fixed)
    }

    /// The local time at `micros` since the epoch.
    pub fn local(&self, micros: i64) -> Option<DateTime<FixedOffset>> {
        let time = DateTime::from_timestamp_micros(micros)?;
        Some(match self {
            Zone::Fixed(offset) => time.with_timezone(offset),
            Zone::Named(tz) => time.with_timezone(tz).fixed_offset(),
        })
    }

    /// The instant (µs since the epoch) a wall-clock time names: the earlier one where clocks
    /// go back, none where they skip it.
    pub fn instant(&self, local: NaiveDateTime) -> Option<i64> {
        let time = match self {
            Zone::Fixed(offset) => offset.from_local_datetime(&local).earliest()?.to_utc(),
            Zone::Named(tz) => tz.from_local_datetime(&local).earliest()?.to_utc(),
        };
        Some(time.timestamp_micros())
    }

    /// For an axis title: `UTC`, `UTC+02:00` or `Europe/Berlin`.
    pub fn name(&self) -> String {
        match self {
            Zone::Fixed(offset) if offset.local_minus_utc() == 0 => "UTC".to_string(),
            Zone::Fixed(offset) => format!("UTC{offset}"),
            Zone::Named(tz) => tz.name().to_string(),
        }
    }
}

/// `--tz`: UTC, Z, an ISO 8601 offset east of UTC (±HH:MM, ±HHMM, ±HH) or an IANA zone name.
/// Read by the store's [`TimeZone`] first (dl-export's `--tz`), so both programs take an offset
/// the same way and refuse POSIX-style `UTC+2` alike; a name must then be in the zone database.
pub fn parse_zone(text: &str) -> Result<ZoneArg, String> {
    let store = text
        .parse::<TimeZone>()
        .map_err(|error| error.to_string())?;
    let zone = match &store {
        TimeZone::Offset(seconds) => Zone::fixed(*seconds),
        TimeZone::Named(name) if name.eq_ignore_ascii_case("utc") => Zone::utc(),
        TimeZone::Named(name) => Zone::Named(name.parse::<Tz>().map_err(|_| {
            format!(
                "'{name}' is not a time zone: give UTC, an offset east of UTC such as +02:00, \
                 or a zone name such as Europe/Berlin"
            )
        })?),
    };
    Ok(ZoneArg { zone, store })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_names_and_refusals() {
        assert_eq!(parse_zone("+02:00").unwrap().zone, Zone::fixed(7200));
        assert_eq!(parse_zone("-0530").unwrap().zone, Zone::fixed(-19800));
        assert_eq!(parse_zone("UTC").unwrap().zone, Zone::utc());
        let berlin = parse_zone("Europe/Berlin").unwrap();
        assert_eq!(berlin.zone.name(), "Europe/Berlin");
        assert_eq!(berlin.store, TimeZone::Named("Europe/Berlin".into()));
        assert!(parse_zone("Mars/Olympus_Mons").is_err());
        assert!(parse_zone("UTC+2").is_err());
        assert!(parse_zone("+25:00").is_err());
    }

    #[test]
    fn a_named_zone_follows_daylight_saving_time() {
        let berlin = Zone::Named(chrono_tz::Europe::Berlin);
        // 2026-01-15 and 2026-07-15, 12:00 UTC.
        let winter = 1_768_478_400_000_000;
        let summer = 1_784_116_800_000_000;
        assert_eq!(
            berlin.local(winter).unwrap().offset().local_minus_utc(),
            3600
        );
        assert_eq!(
            berlin.local(summer).unwrap().offset().local_minus_utc(),
            7200
        );
        // 02:30 on 2026-03-29 does not exist in Berlin (clocks go from 02:00 to 03:00).
        let skipped = chrono::NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(berlin.instant(skipped), None);
    }
}
