//! Evaluation metrics over scored items, and Platt calibration.

use serde::Serialize;

/// Area under the ROC curve (ties count half). `None` when one class is absent.
pub fn roc_auc(scores: &[f32], malicious: &[bool]) -> Option<f64> {
    let mut pairs: Vec<(f32, bool)> = scores
        .iter()
        .copied()
        .zip(malicious.iter().copied())
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = pairs.iter().filter(|p| p.1).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Sum of positive ranks (average rank within ties).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let average_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_tie = pairs[i..j].iter().filter(|p| p.1).count() as f64;
        rank_sum += average_rank * pos_in_tie;
        i = j;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// The lowest threshold `t` such that flagging `score >= t` keeps the false-positive rate at or
/// below `max_fpr`, and the recall it reaches. `None` when one class is absent.
pub fn recall_at_fpr(scores: &[f32], malicious: &[bool], max_fpr: f64) -> Option<(f32, f64)> {
    let mut benign: Vec<f32> = scores
        .iter()
        .zip(malicious)
        .filter(|(_, &m)| !m)
        .map(|(&s, _)| s)
        .collect();
    let attacks: Vec<f32> = scores
        .iter()
        .zip(malicious)
        .filter(|(_, &m)| m)
        .map(|(&s, _)| s)
        .collect();
    if benign.is_empty() || attacks.is_empty() {
        return None;
    }
    benign.sort_by(|a, b| b.total_cmp(a));
    // Allowed false positives.
    let allowed = (max_fpr * benign.len() as f64).floor() as usize;
    // Threshold strictly above the (allowed+1)-th highest benign score.
    let threshold = match benign.get(allowed) {
        Some(&s) => next_up(s),
        None => f32::MIN,
    };
    let caught = attacks.iter().filter(|&&s| s >= threshold).count();
    Some((threshold, caught as f64 / attacks.len() as f64))
}

fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    let bits = x.to_bits();
    let next = if x == 0.0 {
        1
    } else if x > 0.0 {
        bits + 1
    } else {
        bits - 1
    };
    f32::from_bits(next)
}

/// Percentile (nearest rank) of a sample, `q` in [0, 100].
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// Platt scaling: fits `p = σ(a·margin + b)` by Newton's method with backtracking on the log
/// loss (Lin, Lin & Weng's robust form of Platt's algorithm), with Platt's smoothed targets so a
/// separable set does not push `a` to infinity.
pub fn fit_platt(margins: &[f32], malicious: &[bool]) -> (f32, f32) {
    let n_pos = malicious.iter().filter(|&&m| m).count() as f64;
    let n_neg = malicious.len() as f64 - n_pos;
    let hi = (n_pos + 1.0) / (n_pos + 2.0);
    let lo = 1.0 / (n_neg + 2.0);
    let data: Vec<(f64, f64)> = margins
        .iter()
        .zip(malicious)
        .map(|(&m, &y)| (f64::from(m), if y { hi } else { lo }))
        .collect();
    // Log loss, computed stably.
    let loss = |a: f64, b: f64| -> f64 {
        data.iter()
            .map(|&(m, t)| {
                let z = a * m + b;
                // −t·log σ(z) − (1−t)·log(1−σ(z)) = softplus(z) − t·z
                let softplus = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                softplus - t * z
            })
            .sum()
    };
    let (mut a, mut b) = (0.0f64, ((n_neg + 1.0) / (n_pos + 1.0)).ln().neg_if_finite());
    let mut f = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
        for &(m, t) in &data {
            let z = a * m + b;
            let p = 1.0 / (1.0 + (-z).exp());
            let d = p - t;
            let w = p * (1.0 - p);
            ga += d * m;
            gb += d;
            haa += w * m * m;
            hab += w * m;
            hbb += w;
        }
        if ga.abs() < 1e-7 && gb.abs() < 1e-7 {
            break;
        }
        let det = haa * hbb - hab * hab;
        if det <= 0.0 {
            break;
        }
        let da = -(hbb * ga - hab * gb) / det;
        let db = -(haa * gb - hab * ga) / det;
        let slope = ga * da + gb * db;
        let mut step = 1.0;
        let mut improved = false;
        while step >= 1e-10 {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = loss(na, nb);
            if nf < f + 1e-4 * step * slope {
                a = na;
                b = nb;
                f = nf;
                improved = true;
                break;
            }
            step /= 2.0;
        }
        if !improved {
            break;
        }
    }
    (a as f32, b as f32)
}

trait NegIfFinite {
    fn neg_if_finite(self) -> f64;
}

impl NegIfFinite for f64 {
    fn neg_if_finite(self) -> f64 {
        if self.is_finite() {
            -self
        } else {
            0.0
        }
    }
}

/// Counts and rates of a binary decision.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Rates {
    /// Items.
    pub n: usize,
    /// Malicious items.
    pub malicious: usize,
    /// Benign items.
    pub benign: usize,
    /// Share of malicious items flagged (null when there are none).
    pub recall: Option<f64>,
    /// Share of benign items flagged (null when there are none).
    pub fpr: Option<f64>,
}

impl Rates {
    /// Rates of `flagged` against the labels.
    pub fn of(flagged: &[bool], malicious: &[bool]) -> Rates {
        let mut r = Rates {
            n: flagged.len(),
            ..Rates::default()
        };
        let (mut tp, mut fp) = (0usize, 0usize);
        for (&f, &m) in flagged.iter().zip(malicious) {
            if m {
                r.malicious += 1;
                tp += usize::from(f);
            } else {
                r.benign += 1;
                fp += usize::from(f);
            }
        }
        r.recall = (r.malicious > 0).then(|| tp as f64 / r.malicious as f64);
        r.fpr = (r.benign > 0).then(|| fp as f64 / r.benign as f64);
        r
    }

    /// Mean of recall and 1 − FPR.
    pub fn balanced_accuracy(&self) -> Option<f64> {
        Some((self.recall? + 1.0 - self.fpr?) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_random_and_inverted() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &labels), Some(0.0));
        assert_eq!(roc_auc(&[0.5, 0.5, 0.5, 0.5], &labels), Some(0.5));
        assert_eq!(roc_auc(&[0.5], &[true]), None);
    }

    #[test]
    fn recall_at_fpr_respects_the_budget() {
        // 100 benign at 0.0..0.99, attacks at 0.5 and 0.995.
        let mut scores: Vec<f32> = (0..100).map(|i| i as f32 / 100.0).collect();
        let mut labels = vec![false; 100];
        scores.extend([0.5, 0.995]);
        labels.extend([true, true]);
        let (t, recall) = recall_at_fpr(&scores, &labels, 0.01).unwrap();
        assert!(t > 0.98 && t <= 0.99, "{t}");
        assert_eq!(recall, 0.5);
        let flagged: Vec<bool> = scores.iter().map(|&s| s >= t).collect();
        assert!(Rates::of(&flagged, &labels).fpr.unwrap() <= 0.01);
    }

    #[test]
    fn platt_is_monotone_and_calibrated_on_separable_data() {
        let margins: Vec<f32> = (-50..50).map(|i| i as f32 / 10.0).collect();
        let labels: Vec<bool> = margins.iter().map(|&m| m > 0.0).collect();
        let (a, b) = fit_platt(&margins, &labels);
        assert!(a > 0.0 && a < 100.0 && b.is_finite(), "{a} {b}");
        // Overlapping classes: the fitted curve matches the empirical rate.
        let margins: Vec<f32> = (0..1000).map(|i| (i % 10) as f32 - 4.5).collect();
        let labels: Vec<bool> = (0..1000u64)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 10) < (i % 10))
            .collect();
        let (a, b) = fit_platt(&margins, &labels);
        let p_top = 1.0 / (1.0 + (-(a * 4.5 + b)).exp());
        assert!(p_top > 0.7 && p_top < 0.98, "{p_top}");
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
    }
}
