//! min / median / max of repeated measurements.

/// Summary of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

/// Summarise `xs` (must not be empty).
pub fn summary(xs: &[f64]) -> Summary {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Summary {
        n,
        min: v[0],
        median,
        max: v[n - 1],
    }
}

/// `{"min": .., "median": .., "max": ..}` for docs/bench.json.
pub fn json(s: Summary) -> String {
    format!(
        "{{\"min\": {:.3}, \"median\": {:.3}, \"max\": {:.3}}}",
        s.min, s.median, s.max
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(summary(&[3.0, 1.0, 2.0]).median, 2.0);
        assert_eq!(
            summary(&[4.0, 1.0, 2.0, 3.0]),
            Summary {
                n: 4,
                min: 1.0,
                median: 2.5,
                max: 4.0
            }
        );
    }
}
