//! The machine the figures come from, since they mean little without it.

use std::process::Command;

/// (what, value) pairs: CPU, cores, memory, OS, kernel, toolchain, date and load.
pub fn describe() -> Vec<(&'static str, String)> {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(unknown);
    let cores = cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_else(unknown);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_string())
        .unwrap_or_else(unknown);
    let load = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let dynamodb_local = local_stack::dynamodb::jar_dir()
        .ok()
        .and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(unknown);
    vec![
        ("CPU", cpu),
        ("cores", cores.to_string()),
        ("memory", memory),
        ("OS", os),
        (
            "kernel",
            read("/proc/sys/kernel/osrelease").trim().to_string(),
        ),
        ("rustc", first_line("rustc", &["--version"])),
        ("Java (DynamoDB Local)", first_line("java", &["-version"])),
        ("DynamoDB Local", dynamodb_local),
        ("date", first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
        ("load average at start (1, 5, 15 min)", load),
    ]
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn unknown() -> String {
    "unknown".to_string()
}

/// The first line a command prints (on stdout, or stderr as `java -version` does).
fn first_line(program: &str, args: &[&str]) -> String {
    let Ok(out) = Command::new(program).args(args).output() else {
        return unknown();
    };
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(str::to_string)
        .unwrap_or_else(unknown)
}
