//! A profile drawn as a flame graph, by inferno from "folded" stacks.

use super::Profile;

/// The frame paging cycles are drawn as, on top of the stack that caused them.
pub const PAGING_FRAME: &str = "[paging]";

/// The folded lines of `profile`: `outer;inner count`, user cycles and,
/// as a `[paging]` frame above each stack, paging cycles.
pub fn folded(profile: &Profile) -> Vec<String> {
    let mut lines = Vec::new();
    for stack in &profile.stacks {
        // (inferno splits frames at ';'; Rust names hold none, C++ ones may.)
        let path: Vec<String> = stack
            .frames
            .iter()
            .map(|frame| frame.name.replace(';', ":"))
            .collect();
        let path = path.join(";");
        if stack.cycles > 0 {
            lines.push(format!("{path} {}", stack.cycles));
        }
        if stack.paging_cycles > 0 {
            lines.push(format!("{path};{PAGING_FRAME} {}", stack.paging_cycles));
        }
    }
    lines
}

/// The SVG of `profile`'s flame graph.
pub fn render(profile: &Profile, title: &str) -> anyhow::Result<Vec<u8>> {
    let lines = folded(profile);
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = "cycles".to_string();
    // The same profile draws the same picture.
    options.deterministic = true;
    let mut svg = Vec::new();
    if lines.is_empty() {
        anyhow::bail!("the run spent no cycles to draw");
    }
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)?;
    Ok(svg)
}
