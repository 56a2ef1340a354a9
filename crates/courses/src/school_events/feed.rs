//! A user's calendar as iCalendar text (RFC 5545): one VEVENT per event with a stable UID, the
//! event's version as SEQUENCE and its last change as DTSTAMP, so a calendar app polling the
//! feed updates what changed; cancelled events stay with `STATUS:CANCELLED`. Times are written
//! in the event's own zone (`DTSTART;TZID=Europe/Berlin:…`) with a VTIMEZONE per zone, built
//! from the bundled time zone database: the transition in force at the first event and every
//! one until the last ends, so times across a daylight-saving change read right in any app.
//! The `icalendar` crate writes the events; it has no VTIMEZONE, which is written here.

use std::{collections::BTreeMap, fmt::Write as _};

use icalendar::{
    Calendar, CalendarDateTime, Component as _, EventLike as _, EventStatus, Property,
};
use jiff::{
    Timestamp,
    tz::{Offset, TimeZone},
};

use super::store::{CANCELLED, EventRow, FeedRow, WAITLISTED};

/// The feed's product id.
const PRODID: &str = "-//Campus//School events//EN";

/// An instant of the store (unix microseconds), clamped into jiff's range.
fn instant(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(if micros < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// A stored instant as chrono's UTC time (what `icalendar` takes for DTSTAMP).
fn utc(micros: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// jiff's civil time as chrono's (what `icalendar` takes for local times).
fn naive(civil: jiff::civil::DateTime) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(
        i32::from(civil.year()),
        u32::try_from(civil.month()).unwrap_or(1),
        u32::try_from(civil.day()).unwrap_or(1),
    )
    .and_then(|date| {
        date.and_hms_opt(
            u32::try_from(civil.hour()).unwrap_or(0),
            u32::try_from(civil.minute()).unwrap_or(0),
            u32::try_from(civil.second()).unwrap_or(0),
        )
    })
    .unwrap_or_default()
}

/// `YYYYMMDDTHHMMSS`, a local time in iCalendar's form.
fn local_text(civil: jiff::civil::DateTime) -> String {
    naive(civil).format("%Y%m%dT%H%M%S").to_string()
}

/// `+HHMM` (or `+HHMMSS`), an offset in iCalendar's form.
fn offset_text(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if rest == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{rest:02}")
    }
}

/// The VTIMEZONE of `tzid` covering `from..=to`.
fn vtimezone(tzid: &str, zone: &TimeZone, from: Timestamp, to: Timestamp) -> String {
    let mut text = format!("BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n");
    // The transition in force at `from` (at or before it: `preceding` is strictly before).
    let just_after = from
        .checked_add(jiff::SignedDuration::from_nanos(1))
        .unwrap_or(from);
    let transitions: Vec<_> = zone
        .preceding(just_after)
        .take(1)
        .chain(zone.following(from).take_while(|t| t.timestamp() <= to))
        .collect();
    if transitions.is_empty() {
        let info = zone.to_offset_info(from);
        let offset = offset_text(info.offset());
        let _ = write!(
            text,
            "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:{offset}\r\n\
             TZOFFSETTO:{offset}\r\nTZNAME:{}\r\nEND:STANDARD\r\n",
            info.abbreviation()
        );
    }
    for transition in transitions {
        let at = transition.timestamp();
        let before = zone.to_offset(
            at.checked_sub(jiff::SignedDuration::from_secs(1))
                .unwrap_or(at),
        );
        let kind = if transition.dst().is_dst() {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        let _ = write!(
            text,
            "BEGIN:{kind}\r\nDTSTART:{}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\nTZNAME:{}\r\n\
             END:{kind}\r\n",
            local_text(before.to_datetime(at)),
            offset_text(before),
            offset_text(transition.offset()),
            transition.abbreviation()
        );
    }
    text.push_str("END:VTIMEZONE\r\n");
    text
}

/// The zone an event is shown in; UTC if the database no longer knows its name.
fn zone_of(event: &EventRow) -> (String, TimeZone) {
    match jiff::tz::db().get(&event.time_zone) {
        Ok(zone) => (event.time_zone.clone(), zone),
        Err(_) => ("UTC".to_owned(), TimeZone::UTC),
    }
}

/// The iCalendar text of a user's `events`: cancelled ones `CANCELLED`, those they are on the
/// waitlist for `TENTATIVE`, the others `CONFIRMED`.
pub(crate) fn calendar(events: &[FeedRow]) -> String {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("X-WR-CALNAME", "Campus"));
    let mut zones: BTreeMap<String, (TimeZone, Timestamp, Timestamp)> = BTreeMap::new();
    for FeedRow { event, answer } in events {
        let (tzid, zone) = zone_of(event);
        let (starts, ends) = (instant(event.starts_at), instant(event.ends_at));
        let local = |at: Timestamp| CalendarDateTime::WithTimezone {
            date_time: naive(zone.to_datetime(at)),
            tzid: tzid.clone(),
        };
        let mut entry = icalendar::Event::new();
        entry
            .uid(&format!("{}@campus", event.id))
            .sequence(u32::try_from(event.version - 1).unwrap_or(0))
            .timestamp(utc(event.updated_at))
            .last_modified(utc(event.updated_at))
            .created(utc(event.created_at))
            .summary(&event.title)
            .starts(local(starts))
            .ends(local(ends))
            .status(if event.status == CANCELLED {
                EventStatus::Cancelled
            } else if *answer == WAITLISTED {
                EventStatus::Tentative
            } else {
                EventStatus::Confirmed
            });
        if !event.description.is_empty() {
            entry.description(&event.description);
        }
        if !event.place.is_empty() {
            entry.location(&event.place);
        }
        if !event.link.is_empty() {
            entry.url(&event.link);
        }
        calendar.push(entry.done());
        let span = zones.entry(tzid).or_insert((zone, starts, ends));
        span.1 = span.1.min(starts);
        span.2 = span.2.max(ends);
    }
    let mut text = calendar.to_string();
    let timezones: String = zones
        .iter()
        .map(|(tzid, (zone, from, to))| vtimezone(tzid, zone, *from, *to))
        .collect();
    if let Some(first_event) = text.find("BEGIN:VEVENT\r\n") {
        text.insert_str(first_event, &timezones);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::calendar;
    use crate::school_events::store::{EventRow, FeedRow, GOING, WAITLISTED};

    /// 2026-03-28T09:00Z and 2026-03-30T08:00Z: 10:00 in Berlin on either side of the change
    /// to summer time on 2026-03-29.
    const BEFORE: i64 = 1_774_688_400_000_000;
    const AFTER: i64 = 1_774_857_600_000_000;

    fn event(id: &str, starts_at: i64, status: i64, answer: i64) -> FeedRow {
        let event = EventRow {
            id: id.into(),
            school_id: "s".into(),
            course_id: String::new(),
            title: "Open day, hall A".into(),
            description: String::new(),
            starts_at,
            ends_at: starts_at + 3_600_000_000,
            time_zone: "Europe/Berlin".into(),
            place: String::new(),
            link: String::new(),
            capacity: 0,
            status,
            version: 3,
            going: 0,
            waitlisted: 0,
            created_by: "u".into(),
            created_at: 0,
            updated_at: 0,
        };
        FeedRow { event, answer }
    }

    #[test]
    fn local_times_and_zones_cross_the_daylight_saving_change() {
        let text = calendar(&[event("a", BEFORE, 1, GOING), event("b", AFTER, 2, GOING)]);
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20260328T100000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20260330T100000\r\n"),
            "{text}"
        );
        assert!(text.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"), "{text}");
        assert!(text.contains("SEQUENCE:2\r\n"));
        assert!(text.contains("STATUS:CANCELLED\r\n"));
        assert_eq!(text.matches("BEGIN:VTIMEZONE").count(), 1);
        assert!(text.find("BEGIN:VTIMEZONE") < text.find("BEGIN:VEVENT"));
    }

    /// 2026-03-29T01:00Z: 03:00 in Berlin, the instant summer time begins.
    const AT_CHANGE: i64 = 1_774_746_000_000_000;

    #[test]
    fn an_event_starting_at_a_change_has_the_rule_that_begins_then() {
        let text = calendar(&[event("c", AT_CHANGE, 1, WAITLISTED)]);
        assert!(
            text.contains("DTSTART;TZID=Europe/Berlin:20260329T030000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\n"),
            "{text}"
        );
        assert!(text.contains("STATUS:TENTATIVE\r\n"), "{text}");
    }
}
