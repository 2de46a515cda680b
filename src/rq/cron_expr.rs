//! Cron expressions as `rq cron` reads them through `croniter` (RQ 2.12 `CronJob`): five
//! fields, minute hour day-of-month month day-of-week, evaluated in UTC (RQ passes
//! `datetime.now(timezone.utc)`), with minute resolution.
//!
//! ```text
//!   "*/15 9-17 * * mon-fri"      every 15 minutes from 09:00 to 17:45 on weekdays
//!   "0 0 1 * 1"                  midnight on the 1st AND every Monday (see below)
//!   "@hourly"                    "0 * * * *"
//! ```
//!
//! Each field is a comma-separated list of `*`, `N`, `N-M`, each optionally `/step`
//! (`N/step` runs from N to the field's maximum). Months and weekdays take English
//! three-letter names; weekday 7 is Sunday, as 0. When both day fields are restricted (not
//! exactly `*`), a day matches if EITHER matches — Vixie cron's rule, which croniter follows
//! even for `*/2` (checked against croniter 7.0: `0 0 */2 * 1` fires on Jan 3 and on Mondays).

use std::fmt;

use crate::sim::calendar::{civil_from_days, days_from_civil};

/// A parsed expression: the allowed values of each field as bit sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronExpr {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Both day fields restricted: a day matches if either does.
    day_or: bool,
}

/// Why an expression was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError(pub String);

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: Field = Field {
    name: "day of week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// No instant this far ahead: the expression never fires (e.g. `0 0 31 2 *`).
const SEARCH_LIMIT_DAYS: i64 = 8 * 366;

impl CronExpr {
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        let expanded = match text.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError(format!(
                "`{text}` has {} fields; expected 5 (minute hour day-of-month month \
                 day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly",
                fields.len()
            )));
        }
        let mut days_of_week = parse_field(fields[4], &DAY_OF_WEEK)?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week | 1) & !(1 << 7);
        }
        let expr = CronExpr {
            minutes: parse_field(fields[0], &MINUTE)?,
            hours: parse_field(fields[1], &HOUR)?,
            days_of_month: parse_field(fields[2], &DAY_OF_MONTH)?,
            months: parse_field(fields[3], &MONTH)?,
            days_of_week,
            day_or: fields[2] != "*" && fields[4] != "*",
        };
        let probe = 1_767_225_600; // 2026-01-01: any start shows whether it ever fires
        if expr.next_after(probe).is_none() {
            return Err(CronError(format!("`{text}` never fires (no such date)")));
        }
        Ok(expr)
    }

    /// The first instant strictly after `unix_s` (Unix seconds, UTC) that the expression
    /// matches, as `croniter(expr, start).get_next()`; `None` if it never fires.
    pub fn next_after(&self, unix_s: i64) -> Option<i64> {
        let mut minute = unix_s.div_euclid(60) + 1;
        let limit = minute + SEARCH_LIMIT_DAYS * 1440;
        while minute < limit {
            let day = minute.div_euclid(1440);
            let (year, month, day_of_month) = civil_from_days(day);
            // Both are within 1–12 and 1–31.
            let (month, day_of_month) = (month as u32, day_of_month as u32);
            if !has(self.months, month) {
                let next_month = i64::from(month % 12 + 1);
                minute = days_from_civil(year + i64::from(month == 12), next_month, 1) * 1440;
                continue;
            }
            if !self.day_matches(day, day_of_month) {
                minute = (day + 1) * 1440;
                continue;
            }
            let of_day = minute.rem_euclid(1440);
            let hour = (of_day / 60) as u32;
            if !has(self.hours, hour) {
                minute = day * 1440 + (i64::from(hour) + 1) * 60;
                continue;
            }
            if !has(self.minutes, (of_day % 60) as u32) {
                minute += 1;
                continue;
            }
            return Some(minute * 60);
        }
        None
    }

    fn day_matches(&self, day: i64, day_of_month: u32) -> bool {
        // 1970-01-01 was a Thursday (4).
        let weekday = (day + 4).rem_euclid(7) as u32;
        let by_month = has(self.days_of_month, day_of_month);
        let by_week = has(self.days_of_week, weekday);
        if self.day_or {
            by_month || by_week
        } else {
            by_month && by_week
        }
    }
}

fn has(set: u64, value: u32) -> bool {
    set & (1 << value) != 0
}

fn parse_field(text: &str, field: &Field) -> Result<u64, CronError> {
    let mut set = 0u64;
    for item in text.split(',') {
        set |= parse_item(item, field)?;
    }
    Ok(set)
}

fn parse_item(item: &str, field: &Field) -> Result<u64, CronError> {
    let bad = |why: String| CronError(format!("{} field `{item}`: {why}", field.name));
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => {
            let step: u32 = step
                .parse()
                .map_err(|_| bad(format!("step `{step}` is not a number")))?;
            if step == 0 {
                return Err(bad("a step must be at least 1".into()));
            }
            (range, step)
        }
        None => (item, 1),
    };
    let (low, high) = if range == "*" {
        (field.min, field.max)
    } else if let Some((low, high)) = range.split_once('-') {
        (value(low, field, &bad)?, value(high, field, &bad)?)
    } else {
        let low = value(range, field, &bad)?;
        let high = if item.contains('/') { field.max } else { low };
        (low, high)
    };
    if low > high {
        return Err(bad(format!("range {low}-{high} runs backwards")));
    }
    Ok((low..=high)
        .step_by(step as usize)
        .fold(0, |set, v| set | 1 << v))
}

fn value(text: &str, field: &Field, bad: &dyn Fn(String) -> CronError) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    let number = match field.names.iter().position(|name| *name == lower) {
        Some(index) => index as u32 + if field.min == 1 { 1 } else { 0 },
        None => text
            .parse()
            .map_err(|_| bad(format!("`{text}` is not a number or a name")))?,
    };
    if !(field.min..=field.max).contains(&number) {
        return Err(bad(format!(
            "{number} is outside {}-{}",
            field.min, field.max
        )));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01 00:05:00 UTC, a Thursday.
    const START: i64 = 1_767_225_900;

    fn next(expr: &str, from: i64) -> i64 {
        CronExpr::parse(expr).unwrap().next_after(from).unwrap()
    }

    /// Expected values were read from croniter 7.0 (the version `rq==2.12.0` installs):
    /// `croniter(expr, datetime(2026,1,1,0,5,tzinfo=utc)).get_next(datetime)`.
    #[test]
    fn agrees_with_croniter() {
        let day = 86_400;
        assert_eq!(next("*/5 * * * *", START), START + 300, "strictly after");
        assert_eq!(next("*/5 * * * *", START + 30), START + 300);
        assert_eq!(
            next("0 0 1 * 1", START),
            START - 300 + 4 * day,
            "Monday Jan 5"
        );
        assert_eq!(
            next("0 0 */2 * 1", START),
            START - 300 + 2 * day,
            "Jan 3: OR"
        );
        assert_eq!(next("0 0 * * 1", START), START - 300 + 4 * day);
        assert_eq!(next("0 9-17/2 * * mon-fri", START), START - 300 + 9 * 3600);
        assert_eq!(next("@hourly", START), START - 300 + 3600);
    }

    #[test]
    fn months_years_and_leap_days() {
        // 2028-02-29 00:00 UTC is the next Feb 29.
        assert_eq!(next("0 0 29 feb *", START), 1_835_395_200);
        assert_eq!(next("30 23 31 dec *", START), 1_798_759_800);
        assert_eq!(next("0 0 * * 7", START), next("0 0 * * sun", START));
    }

    #[test]
    fn refuses_what_croniter_would_not_run() {
        for bad in [
            "* * * *",
            "61 * * * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "0 0 31 2 *",
            "x * * * *",
        ] {
            assert!(CronExpr::parse(bad).is_err(), "{bad}");
        }
    }
}
