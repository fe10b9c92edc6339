//! The text the appliance hands to the platform's metrics report
//! ([`crate::Platform::report_metrics`]): the Prometheus text exposition
//! format (`# HELP`, `# TYPE`, then `name{label="value"} number` lines).
//! Each part of the appliance writes its own counters into one [`Text`].

use alloc::string::String;
use core::fmt::{Display, Write};

/// Metrics text being written.
#[derive(Default)]
pub struct Text {
    out: String,
}

impl Text {
    pub fn new() -> Text {
        Text::default()
    }

    /// The `# HELP` and `# TYPE` lines of a family (`kind`: counter, gauge).
    pub fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample; label values are escaped (`\`, `"`, newline).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        for (i, (k, v)) in labels.iter().enumerate() {
            self.out.push(if i == 0 { '{' } else { ',' });
            let _ = write!(self.out, "{k}=\"{}\"", escape(v));
        }
        if !labels.is_empty() {
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family of one sample without labels.
    pub fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.head(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A family with one sample per value of the label `label`.
    pub fn by<V: Display>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        label: &str,
        v: &[(&str, V)],
    ) {
        self.head(name, kind, help);
        for (l, n) in v {
            self.sample(name, &[(label, l)], n);
        }
    }

    pub fn into_string(self) -> String {
        self.out
    }
}

impl From<String> for Text {
    /// Go on writing after `out`.
    fn from(out: String) -> Text {
        Text { out }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escaped_labels() {
        let mut t = Text::new();
        t.single("a_total", "counter", "As.", 3);
        t.by("b", "gauge", "Bs.", "state", &[("used", 1), ("free", 2)]);
        t.sample("c", &[("zone", "x\"y\\"), ("error", "l1\nl2")], 1);
        assert_eq!(
            t.into_string(),
            "# HELP a_total As.\n# TYPE a_total counter\na_total 3\n\
             # HELP b Bs.\n# TYPE b gauge\nb{state=\"used\"} 1\nb{state=\"free\"} 2\n\
             c{zone=\"x\\\"y\\\\\",error=\"l1\\nl2\"} 1\n"
        );
    }
}
