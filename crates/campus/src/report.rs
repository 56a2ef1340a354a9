//! How the binary prints a failure: the error and its causes on one line.

/// The error and its causes joined by `: `, leaving out a cause whose text the message before
/// it already ends with (library errors often quote their source, and anyhow's `{:#}` would
/// print it again: "unreachable: no route: no route").
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if parts
            .last()
            .is_some_and(|previous| previous.ends_with(&text))
        {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[derive(Debug, thiserror::Error)]
    #[error("database unreachable: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn a_cause_quoted_by_its_parent_is_printed_once() {
        let error = anyhow::Error::new(Quoting(std::io::Error::other("no pg_hba.conf entry")))
            .context("connecting to postgres://db/campus");
        assert_eq!(
            one_line(&error),
            "connecting to postgres://db/campus: database unreachable: no pg_hba.conf entry"
        );
    }

    #[test]
    fn causes_that_are_not_quoted_are_all_printed() {
        let error = anyhow::anyhow!("bad port").context("CAMPUS_LISTEN");
        assert_eq!(one_line(&error), "CAMPUS_LISTEN: bad port");
    }
}
