//! `promtool query instant|range|series|labels` pointed at our querier and at Prometheus 2.42:
//! the outputs must be equal (up to the order of series, which the API leaves open).

/// One `promtool query` command: the subcommand, its flags, and the arguments after the URL.
pub(crate) struct PromtoolQuery {
    pub(crate) command: &'static str,
    pub(crate) flags: Vec<String>,
    pub(crate) args: Vec<String>,
}

/// Runs `promtool query` against `url`; fails loudly unless it succeeds with some output.
pub(crate) fn run(query: &PromtoolQuery, url: &str) -> String {
    let output = testkit::tool("promtool")
        .arg("query")
        .arg(query.command)
        .args(&query.flags)
        .arg(url)
        .args(&query.args)
        .output()
        .expect("run promtool");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && !stdout.trim().is_empty(),
        "promtool query {} {:?} {url} {:?}: {}\n{stdout}\n{}",
        query.command,
        query.flags,
        query.args,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The output with its series in a fixed order: a range query prints a block of lines per
/// series (a `labels =>` line, then its values), the other commands a line per item.
fn canonical(command: &str, output: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        match items.last_mut() {
            Some(block) if command == "range" && !line.contains("=>") => {
                block.push('\n');
                block.push_str(line);
            }
            _ => items.push(line.to_string()),
        }
    }
    items.sort();
    items
}

/// Runs every query against both URLs and asserts equal outputs; returns how many ran.
pub(crate) fn assert_same_output(queries: &[PromtoolQuery], ours: &str, prometheus: &str) -> usize {
    for query in queries {
        let (a, b) = (run(query, ours), run(query, prometheus));
        assert_eq!(
            canonical(query.command, &a),
            canonical(query.command, &b),
            "promtool query {} {:?} {:?}: ours (left) differs from Prometheus (right)",
            query.command,
            query.flags,
            query.args
        );
    }
    queries.len()
}
