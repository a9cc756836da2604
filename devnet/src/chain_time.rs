//! Chain time as the node prints it: `YYYY-MM-DDTHH:MM:SS.mmm`, UTC, no zone.

/// Formats milliseconds since the Unix epoch.
pub fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Formats whole seconds since the Unix epoch (no milliseconds).
pub fn format_secs(secs: i64) -> String {
    let s = format_ms(secs * 1000);
    s[..19].to_string()
}

/// (year, month, day) of a day count since 1970-01-01, proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fio_peer::chain::parse_chain_time;

    #[test]
    fn formats_what_the_client_parses() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000");
        assert_eq!(format_ms(1_704_067_380_500), "2024-01-01T00:03:00.500");
        assert_eq!(format_secs(951_825_600), "2000-02-29T12:00:00");
        for secs in [
            0i64,
            951_825_600,
            1_704_067_380,
            4_102_444_799,
            u32::MAX as i64,
        ] {
            assert_eq!(parse_chain_time(&format_secs(secs)).unwrap() as i64, secs);
        }
    }
}
