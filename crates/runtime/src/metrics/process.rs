//! `process_*` metrics as client_golang's process collector names them, read from `/proc` on
//! Linux at scrape time (elsewhere they are absent).
//!
//! `process_cpu_seconds_total` is a gauge here: `metrics` counters hold integers, and whole
//! seconds would make `rate()` useless. PromQL treats both types alike.

/// Registers the help text of the process metrics.
pub(super) fn describe() {
    metrics::describe_gauge!(
        "process_cpu_seconds_total",
        metrics::Unit::Seconds,
        "Total user and system CPU time spent in seconds."
    );
    metrics::describe_gauge!(
        "process_resident_memory_bytes",
        metrics::Unit::Bytes,
        "Resident memory size in bytes."
    );
    metrics::describe_gauge!(
        "process_virtual_memory_bytes",
        metrics::Unit::Bytes,
        "Virtual memory size in bytes."
    );
    metrics::describe_gauge!(
        "process_start_time_seconds",
        metrics::Unit::Seconds,
        "Start time of the process since unix epoch in seconds."
    );
    metrics::describe_gauge!("process_open_fds", "Number of open file descriptors.");
    metrics::describe_gauge!("process_max_fds", "Maximum number of open file descriptors.");
}

/// Refreshes the process gauges.
pub(super) fn record() {
    #[cfg(target_os = "linux")]
    linux::record();
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs;

    /// `USER_HZ`: the unit of times in `/proc/*/stat`, 100 on every Linux architecture's ABI.
    const TICKS_PER_SECOND: f64 = 100.0;

    pub(super) fn record() {
        if let Some(fields) = fs::read_to_string("/proc/self/stat").ok().as_deref().and_then(stat_fields) {
            let ticks = |index: usize| fields.get(index).and_then(|v| v.parse::<f64>().ok());
            // Counted from `state` (field 3 in proc(5)): utime 14, stime 15, starttime 22.
            if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
                metrics::gauge!("process_cpu_seconds_total").set((user + system) / TICKS_PER_SECOND);
            }
            if let (Some(start_ticks), Some(boot_time)) = (ticks(19), boot_time()) {
                metrics::gauge!("process_start_time_seconds").set(boot_time + start_ticks / TICKS_PER_SECOND);
            }
        }
        if let Ok(status) = fs::read_to_string("/proc/self/status") {
            if let Some(kib) = status_kib(&status, "VmRSS:") {
                metrics::gauge!("process_resident_memory_bytes").set(kib * 1024.0);
            }
            if let Some(kib) = status_kib(&status, "VmSize:") {
                metrics::gauge!("process_virtual_memory_bytes").set(kib * 1024.0);
            }
        }
        if let Ok(entries) = fs::read_dir("/proc/self/fd") {
            metrics::gauge!("process_open_fds").set(entries.count() as f64);
        }
        if let Some(max_fds) =
            fs::read_to_string("/proc/self/limits").ok().and_then(|limits| max_open_files(&limits))
        {
            metrics::gauge!("process_max_fds").set(max_fds);
        }
    }

    /// The fields after the command name, which may itself hold spaces and parentheses.
    fn stat_fields(stat: &str) -> Option<Vec<String>> {
        let after_command = &stat[stat.rfind(')')? + 1..];
        Some(after_command.split_whitespace().map(str::to_owned).collect())
    }

    fn boot_time() -> Option<f64> {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        stat.lines().find_map(|line| line.strip_prefix("btime ")).and_then(|value| value.trim().parse().ok())
    }

    fn status_kib(status: &str, key: &str) -> Option<f64> {
        let line = status.lines().find(|line| line.starts_with(key))?;
        line[key.len()..].split_whitespace().next()?.parse().ok()
    }

    fn max_open_files(limits: &str) -> Option<f64> {
        let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
        let soft = line["Max open files".len()..].split_whitespace().next()?;
        soft.parse().ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_proc_files() {
            let fields = stat_fields("42 (tokio (worker) 1) S 1 2 3").expect("fields");
            assert_eq!(fields, ["S", "1", "2", "3"]);
            assert_eq!(status_kib("Name:\tx\nVmRSS:\t   1234 kB\n", "VmRSS:"), Some(1234.0));
            let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                          Max open files            1024                 524288               files\n";
            assert_eq!(max_open_files(limits), Some(1024.0));
        }
    }
}
